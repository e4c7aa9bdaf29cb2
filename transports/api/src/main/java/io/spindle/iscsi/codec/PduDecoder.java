package io.spindle.iscsi.codec;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.spindle.iscsi.pdu.Pdu;
import io.spindle.iscsi.pdu.Pdus;
import java.util.List;

/**
 * Frames the iSCSI byte stream into PDUs (RFC 7143 §11.2). Limits are checked on the BHS,
 * before waiting for or keeping any more bytes; segments are retained slices of the input.
 * Bad framing yields one {@link FramingError} and then every later byte is discarded.
 */
public final class PduDecoder extends ByteToMessageDecoder {

  private enum State { BHS, FRAME, DISCARD }

  private final CodecLimits limits;
  private State state = State.BHS;
  private int ahsLength;
  private int dataLength;
  private int frameLength;
  private boolean headerDigest;
  private boolean dataDigest;

  public PduDecoder(CodecLimits limits) {
    this.limits = limits;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    while (true) {
      switch (state) {
        case DISCARD:
          in.skipBytes(in.readableBytes());
          return;
        case BHS:
          if (in.readableBytes() < Pdu.BHS_LENGTH) return;
          if (!startFrame(in, out)) return;
          state = State.FRAME;
          // fall through
        case FRAME:
          if (in.readableBytes() < frameLength) return;
          state = State.BHS;
          out.add(readFrame(in)); // may switch to DISCARD
          break;
        default:
          throw new AssertionError(state);
      }
    }
  }

  /** Reads the lengths from the BHS at the reader index; false (and DISCARD) when they are impossible. */
  private boolean startFrame(ByteBuf in, List<Object> out) {
    int base = in.readerIndex();
    ahsLength = (in.getByte(base + 4) & 0xff) * 4;
    dataLength = in.getUnsignedMedium(base + 5); // 24-bit unsigned (RFC 7143 §11.2.1.5)
    // Digests are sampled per PDU so that a change made while handling this PDU applies to the next.
    headerDigest = limits.headerDigest();
    dataDigest = limits.dataDigest();
    if (ahsLength > limits.maxAhsLength()) {
      return fail(in, out, "TotalAHSLength " + ahsLength + " bytes exceeds the limit of " + limits.maxAhsLength());
    }
    if (dataLength > limits.maxRecvDataSegmentLength()) {
      return fail(in, out, "DataSegmentLength " + dataLength + " exceeds MaxRecvDataSegmentLength "
          + limits.maxRecvDataSegmentLength());
    }
    frameLength = Pdu.BHS_LENGTH + ahsLength + (headerDigest ? 4 : 0)
        + pad4(dataLength) + (dataDigest && dataLength > 0 ? 4 : 0);
    return true;
  }

  private Object readFrame(ByteBuf in) {
    int headerLength = Pdu.BHS_LENGTH + ahsLength;
    if (headerDigest) {
      int expected = Crc32c.of(in, in.readerIndex(), headerLength);
      int actual = in.getIntLE(in.readerIndex() + headerLength);
      if (expected != actual && limits.skipBadHeaders()) {
        // RFC 7143 §7.8: discard the PDU and go on at the next one; its lengths passed the limits.
        in.skipBytes(frameLength);
        return new DiscardedPdu("header digest mismatch (received 0x" + Integer.toHexString(actual)
            + ", computed 0x" + Integer.toHexString(expected) + ")");
      }
      if (expected != actual) {
        state = State.DISCARD;
        in.skipBytes(in.readableBytes());
        return new FramingError("header digest mismatch (received 0x" + Integer.toHexString(actual)
            + ", computed 0x" + Integer.toHexString(expected) + ")");
      }
    }
    // The BHS is copied (48 bytes) rather than sliced: see Pdu for why.
    byte[] bhs = new byte[Pdu.BHS_LENGTH];
    in.readBytes(bhs);
    ByteBuf ahs = ahsLength == 0 ? Unpooled.EMPTY_BUFFER : in.readRetainedSlice(ahsLength);
    if (headerDigest) in.skipBytes(4);
    ByteBuf data = dataLength == 0 ? Unpooled.EMPTY_BUFFER : in.readRetainedSlice(dataLength);
    int padding = pad4(dataLength) - dataLength;
    boolean digestError = false;
    if (dataDigest && dataLength > 0) {
      java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
      Crc32c.update(crc, data, data.readerIndex(), dataLength);
      // RFC 7143 §13.1: the data digest covers the padding bytes too.
      Crc32c.update(crc, in, in.readerIndex(), padding);
      in.skipBytes(padding);
      digestError = (int) crc.getValue() != in.readIntLE();
    } else {
      in.skipBytes(padding);
    }
    Pdu pdu = Pdus.wrap(bhs, ahs, data);
    if (digestError) pdu.markDataDigestError();
    return pdu;
  }

  private boolean fail(ByteBuf in, List<Object> out, String reason) {
    state = State.DISCARD;
    // Consume the input with the error: ByteToMessageDecoder rejects output produced without reading.
    in.skipBytes(in.readableBytes());
    out.add(new FramingError(reason));
    return false;
  }

  public static int pad4(int n) {
    return (n + 3) & ~3;
  }
}
