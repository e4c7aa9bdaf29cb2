package io.spindle.server.iscsi;

/**
 * The operational values a login settled on (RFC 7143 §13) that the full feature phase obeys.
 *
 * @param initiatorMaxRecvDataSegmentLength largest data segment we may send (initiator's declaration)
 * @param targetMaxRecvDataSegmentLength largest data segment we accept (our declaration)
 */
record SessionParams(boolean initialR2t, boolean immediateData, int maxBurstLength, int firstBurstLength,
    int maxOutstandingR2t, boolean dataPduInOrder, boolean dataSequenceInOrder, int errorRecoveryLevel,
    int defaultTime2Wait, int defaultTime2Retain, int maxConnections, boolean headerDigest, boolean dataDigest,
    int initiatorMaxRecvDataSegmentLength, int targetMaxRecvDataSegmentLength) {
}
