package io.spindle.transport.iser;

import io.vertx.core.buffer.Buffer;

/**
 * The iSER connection-manager private data (4 bytes; InfiniBand Annex A12, as Linux sends it in
 * the connect request and accept): byte 0 holds the flags, bytes 1-3 are reserved.
 *
 * @param zbvaNotSupported 0x80: request: the initiator cannot use zero-based offsets (use the
 *     header's base offsets); reply: the target does not use ZBVA
 * @param sendWithInvalidateNotSupported 0x40: request: do not Send with Invalidate to me; reply:
 *     the target will not use it
 */
public record IserCmPrivateData(boolean zbvaNotSupported, boolean sendWithInvalidateNotSupported) {

  public static final int ZBVA_NOT_SUPPORTED = 0x80;
  public static final int SEND_WITH_INVALIDATE_NOT_SUPPORTED = 0x40;
  public static final int LENGTH = 4;

  /** Absent private data means the defaults of an initiator that asks for nothing (RFC 7145 assumptions). */
  public static IserCmPrivateData parse(Buffer data) {
    if (data == null || data.length() < 1) return new IserCmPrivateData(false, false);
    int flags = data.getUnsignedByte(0);
    return new IserCmPrivateData((flags & ZBVA_NOT_SUPPORTED) != 0, (flags & SEND_WITH_INVALIDATE_NOT_SUPPORTED) != 0);
  }

  public Buffer encode() {
    int flags = (zbvaNotSupported ? ZBVA_NOT_SUPPORTED : 0)
        | (sendWithInvalidateNotSupported ? SEND_WITH_INVALIDATE_NOT_SUPPORTED : 0);
    return Buffer.buffer(new byte[] {(byte) flags, 0, 0, 0});
  }
}
