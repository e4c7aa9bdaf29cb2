package io.spindle.iscsi.codec;

/**
 * What the decoder passes on instead of a PDU when the byte stream can no longer be framed
 * (impossible length, header digest mismatch). The receiver logs it with the peer and
 * closes the connection: after it the decoder discards every byte (RFC 7143 §7.8, §7.14).
 */
public record FramingError(String reason) {
}
