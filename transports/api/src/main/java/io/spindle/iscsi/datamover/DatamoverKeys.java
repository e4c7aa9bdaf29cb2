package io.spindle.iscsi.datamover;

/**
 * The negotiated keys a datamover needs (RFC 5047 §3.2.6).
 *
 * @param headerDigest CRC32C header digests on
 * @param dataDigest CRC32C data digests on
 * @param targetMaxRecvDataSegmentLength what this target declared it receives
 * @param initiatorMaxRecvDataSegmentLength what the initiator declared it receives (limits our sends)
 * @param errorRecoveryLevel the session's ErrorRecoveryLevel: above 0 a PDU with a bad header digest
 *        is skipped (its lengths are within limits) instead of closing the connection (RFC 7143 §7.8)
 * @param rdmaExtensions RDMAExtensions=Yes (RFC 7145 §6.3): an iSER datamover whose login ran in
 *        byte-stream mode (RFC 5046 §5) moves to RDMA mode at Enable_Datamover; No keeps iSCSI/TCP
 */
public record DatamoverKeys(boolean headerDigest, boolean dataDigest, int targetMaxRecvDataSegmentLength,
    int initiatorMaxRecvDataSegmentLength, int errorRecoveryLevel, boolean rdmaExtensions) {

  /** Keys of a connection without RDMAExtensions (iSCSI/TCP). */
  public DatamoverKeys(boolean headerDigest, boolean dataDigest, int targetMaxRecvDataSegmentLength,
      int initiatorMaxRecvDataSegmentLength, int errorRecoveryLevel) {
    this(headerDigest, dataDigest, targetMaxRecvDataSegmentLength, initiatorMaxRecvDataSegmentLength,
        errorRecoveryLevel, false);
  }
}
