package io.spindle.rdma.iwarp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * MPA FPDU framing (RFC 5044 §4): ULPDU_Length, the ULPDU (DDP segment), zero pad to a 4-byte
 * boundary, CRC32c. Markers are never used. The CRC field is always present; it is 0 when CRC was
 * not negotiated (as Linux siw sends it).
 */
final class Fpdu {

  /** Length field plus CRC field. */
  static final int OVERHEAD = 2 + 4;
  static final int MAX_ULPDU_LENGTH = 0xffff;

  private Fpdu() {
  }

  /** Pad bytes after a ULPDU of this length: RFC 5044 §4.1, (2 + length + pad) % 4 == 0. */
  static int pad(int ulpduLength) {
    return (4 - ((2 + ulpduLength) & 3)) & 3;
  }

  /**
   * Frames a segment. The payload is not copied: the result is a composite of a header buffer, the
   * segment's payload (ownership passes into the result) and the trailer.
   */
  static ByteBuf encode(ByteBufAllocator alloc, DdpSegment segment, boolean crc) {
    ByteBuf payload = segment.payload();
    int payloadLength = payload.readableBytes();
    int ulpduLength = segment.headerLength() + payloadLength;
    if (ulpduLength > MAX_ULPDU_LENGTH) {
      payload.release();
      throw new IllegalArgumentException("ULPDU of " + ulpduLength + " bytes does not fit an FPDU");
    }
    ByteBuf head = alloc.directBuffer(2 + segment.headerLength());
    head.writeShort(ulpduLength);
    segment.writeHeader(head);
    int pad = pad(ulpduLength);
    ByteBuf tail = alloc.directBuffer(pad + 4);
    tail.writeZero(pad);
    int value = 0;
    if (crc) {
      CRC32C c = new CRC32C();
      update(c, head, head.readerIndex(), head.readableBytes());
      update(c, payload, payload.readerIndex(), payloadLength);
      for (int i = 0; i < pad; i++) c.update(0);
      value = (int) c.getValue();
    }
    // RFC 5044 §4.1 takes the CRC from RFC 3385: the final value goes out least significant byte
    // first (32 zero bytes give aa 36 91 8a on the wire, RFC 3720 B.4).
    tail.writeIntLE(value);
    CompositeByteBuf out = alloc.compositeDirectBuffer(3);
    out.addComponents(true, head, payload, tail);
    return out;
  }

  static void update(CRC32C crc, ByteBuf buf, int index, int length) {
    if (length == 0) return;
    if (buf.nioBufferCount() == 1) {
      crc.update(buf.nioBuffer(index, length));
    } else {
      for (ByteBuffer b : buf.nioBuffers(index, length)) crc.update(b);
    }
  }
}
