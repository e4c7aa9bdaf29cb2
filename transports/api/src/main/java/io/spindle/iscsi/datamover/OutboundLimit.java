package io.spindle.iscsi.datamover;

/**
 * How much a connection may leave unsent before the datamover stops reading from its peer, and
 * how long the peer may stay over that before it is closed (issue 21: a peer that does not read
 * must not make the target buffer without limit). The iSCSI layer sizes it from the negotiated
 * parameters at the end of the login; a datamover without an outbound queue of its own ignores it.
 *
 * @param bytes       unsent bytes (PDU headers, data and the transport's per-PDU overhead) at which
 *                    reading stops; it resumes at half of it
 * @param stallMillis time over {@code bytes} after which the connection is closed
 */
public record OutboundLimit(long bytes, long stallMillis) {

  /** Before the full feature phase: login responses are small, and the login timeout ends a stalled login. */
  public static final OutboundLimit LOGIN = new OutboundLimit(256 * 1024, 30_000);

  public OutboundLimit {
    if (bytes < 2 || stallMillis < 1) throw new IllegalArgumentException("bytes " + bytes + ", stall " + stallMillis);
  }
}
