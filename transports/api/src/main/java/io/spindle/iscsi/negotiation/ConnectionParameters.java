package io.spindle.iscsi.negotiation;

/**
 * The connection-only (CO) results of a login: digests, and MaxRecvDataSegmentLength for each
 * direction. RFC 7143 §13.12: each side declares what it can receive, so the initiator's value
 * bounds what the target sends and the target's value bounds what the initiator sends.
 *
 * @param headerDigest                      CRC32C header digests in force (RFC 7143 §13.1)
 * @param dataDigest                        CRC32C data digests in force
 * @param initiatorMaxRecvDataSegmentLength declared by the initiator: the longest data segment the target may send
 * @param targetMaxRecvDataSegmentLength    declared by the target: the longest data segment the initiator may send
 * @param rdmaExtensions                    RDMAExtensions=Yes (RFC 7145 §6.3): the connection is in iSER-assisted
 *                                          mode, the two lengths above are InitiatorRecvDataSegmentLength and
 *                                          TargetRecvDataSegmentLength, and there are no digests
 */
public record ConnectionParameters(boolean headerDigest, boolean dataDigest, int initiatorMaxRecvDataSegmentLength,
    int targetMaxRecvDataSegmentLength, boolean rdmaExtensions) {

  /** Login-time values: no digests, 8192 bytes both ways (RFC 7143 §13.12 default). */
  public static final ConnectionParameters DEFAULT = new ConnectionParameters(false, false, 8192, 8192, false);

  /** iSCSI/TCP parameters (RDMAExtensions=No). */
  public ConnectionParameters(boolean headerDigest, boolean dataDigest, int initiatorMaxRecvDataSegmentLength,
      int targetMaxRecvDataSegmentLength) {
    this(headerDigest, dataDigest, initiatorMaxRecvDataSegmentLength, targetMaxRecvDataSegmentLength, false);
  }
}
