package io.spindle.server.iscsi;

import io.spindle.iscsi.datamover.OutboundLimit;
import io.spindle.iscsi.negotiation.ConnectionParameters;
import io.spindle.iscsi.negotiation.SessionParameters;
import io.spindle.server.config.NegotiationOptions;

/**
 * The outbound bound of a connection in the full feature phase (issue 21), from what its login
 * negotiated. Past it the datamover stops reading from the peer; what the target holds for the
 * connection is then at most this bound, plus the responses of the commands already in the window
 * (queueDepth of them, each at most its transfer), plus one read batch of PDUs decoded before the
 * stop (README "Limits").
 *
 * <pre>
 *   bound = 4 × MaxBurstLength                       Data-In: four sequences keep the link busy
 *         + 4 × the initiator's MaxRecvDataSegmentLength   NOP-In and Text Responses with data
 *         + queueDepth × (MaxOutstandingR2T + 1) × 512     R2Ts and a status with sense per command
 * </pre>
 *
 * <p>512 bytes is a PDU as the transport holds it unsent: a 48-byte BHS (52 with digest) in its own
 * buffer, up to 254 bytes of sense, and about 96 bytes of bookkeeping per message (Netty counts it).
 * Defaults (MaxBurstLength 1 MiB, MaxRecvDataSegmentLength 256 KiB, queue depth 128,
 * MaxOutstandingR2T 1): 5.1 MiB.
 */
final class OutboundSizing {

  /** Bytes one queued control PDU may take, bookkeeping included. */
  static final int PDU_BYTES = 512;

  private OutboundSizing() {
  }

  static long bytes(SessionParameters session, ConnectionParameters connection, int queueDepth) {
    return 4L * session.maxBurstLength() + 4L * connection.initiatorMaxRecvDataSegmentLength()
        + (long) queueDepth * (session.maxOutstandingR2T() + 1) * PDU_BYTES;
  }

  static OutboundLimit limit(SessionParameters session, ConnectionParameters connection, NegotiationOptions n) {
    return new OutboundLimit(bytes(session, connection, n.queueDepth()), n.outboundStallTimeoutSeconds() * 1000L);
  }
}
