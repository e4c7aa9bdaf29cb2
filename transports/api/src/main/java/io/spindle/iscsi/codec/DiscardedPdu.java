package io.spindle.iscsi.codec;

/**
 * What the decoder passes on instead of a PDU it skipped (a header digest error at
 * ErrorRecoveryLevel &gt; 0, RFC 7143 §7.8): the stream goes on with the next PDU.
 */
public record DiscardedPdu(String reason) {
}
