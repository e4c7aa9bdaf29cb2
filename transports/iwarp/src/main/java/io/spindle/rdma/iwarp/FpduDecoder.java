package io.spindle.rdma.iwarp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.spindle.rdma.TerminateInfo;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Frames the iWARP byte stream: first one MPA Request or Reply ({@link MpaFrame}), then FPDUs,
 * each turned into a {@link DdpSegment} whose payload is a retained slice of the input (no copy).
 * FPDUs need not line up with TCP segments; any length up to 65535 is accepted. A framing error
 * yields one {@link IwarpError} and every later byte is discarded.
 */
final class FpduDecoder extends ByteToMessageDecoder {

  private enum State { MPA, FPDU, DISCARD }

  private State state = State.MPA;
  private boolean crc;

  /** Whether FPDUs carry a checked CRC. Set before the first FPDU can arrive. */
  void crc(boolean on) {
    this.crc = on;
  }

  boolean crc() {
    return crc;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    while (true) {
      switch (state) {
        case DISCARD -> {
          in.skipBytes(in.readableBytes());
          return;
        }
        case MPA -> {
          if (in.readableBytes() < MpaFrame.HEADER_LENGTH) return;
          int pdLength = MpaFrame.privateDataLength(in);
          if (pdLength < 0) {
            fail(in, out, TerminateInfo.LAYER_LLP, TerminateInfo.LLP_MPA, TerminateInfo.LLP_INVALID_REQUEST_REPLY,
                "not an MPA Request or Reply frame");
            return;
          }
          // RFC 5044 §7.1: check the limit before waiting for the private data.
          if (pdLength > MpaFrame.MAX_PRIVATE_DATA) {
            fail(in, out, TerminateInfo.LAYER_LLP, TerminateInfo.LLP_MPA, TerminateInfo.LLP_INVALID_REQUEST_REPLY,
                "MPA private data length " + pdLength + " exceeds " + MpaFrame.MAX_PRIVATE_DATA);
            return;
          }
          if (in.readableBytes() < MpaFrame.HEADER_LENGTH + pdLength) return;
          MpaFrame frame = MpaFrame.read(in);
          // RFC 5044 §7.1: CRC is in use when the Reply says so; the responder sets it before replying.
          if (frame.reply()) crc = frame.crc();
          state = State.FPDU;
          out.add(frame);
        }
        case FPDU -> {
          if (in.readableBytes() < 2) return;
          int ulpduLength = in.getUnsignedShort(in.readerIndex());
          int total = 2 + ulpduLength + Fpdu.pad(ulpduLength) + 4;
          if (in.readableBytes() < total) return;
          Object decoded = decodeFpdu(in, ulpduLength, total);
          out.add(decoded);
          if (decoded instanceof IwarpError) {
            state = State.DISCARD;
            in.skipBytes(in.readableBytes());
            return;
          }
        }
        default -> throw new AssertionError(state);
      }
    }
  }

  private Object decodeFpdu(ByteBuf in, int ulpduLength, int total) {
    int base = in.readerIndex();
    if (crc) {
      CRC32C c = new CRC32C();
      Fpdu.update(c, in, base, total - 4);
      int expected = (int) c.getValue();
      int actual = in.getIntLE(base + total - 4);
      if (expected != actual) {
        return new IwarpError(TerminateInfo.LAYER_LLP, TerminateInfo.LLP_MPA, TerminateInfo.LLP_CRC_ERROR,
            "FPDU CRC mismatch (received 0x" + Integer.toHexString(actual) + ", computed 0x"
                + Integer.toHexString(expected) + ")");
      }
    }
    if (ulpduLength < 2) {
      return new IwarpError(TerminateInfo.LAYER_DDP, TerminateInfo.DDP_CATASTROPHIC, 0,
          "ULPDU of " + ulpduLength + " bytes has no DDP control field");
    }
    int control = in.getUnsignedShort(base + 2);
    boolean tagged = (control & DdpSegment.FLAG_TAGGED) != 0;
    // RFC 5041 §4.2 and RFC 5040 §4.2: version 1 of both; RFC 5040 §4.3: opcodes 0-7.
    if ((control & DdpSegment.DDP_VERSION_MASK) != 0x0100) {
      return new IwarpError(TerminateInfo.LAYER_DDP,
          tagged ? TerminateInfo.DDP_TAGGED_BUFFER : TerminateInfo.DDP_UNTAGGED_BUFFER,
          tagged ? TerminateInfo.DDP_TAGGED_INVALID_VERSION : TerminateInfo.DDP_UNTAGGED_INVALID_VERSION,
          "DDP version " + ((control & DdpSegment.DDP_VERSION_MASK) >> 8));
    }
    if ((control & DdpSegment.RDMAP_VERSION_MASK) != 0x0040) {
      return new IwarpError(TerminateInfo.LAYER_RDMAP, TerminateInfo.RDMAP_REMOTE_OPERATION,
          TerminateInfo.RDMAP_INVALID_VERSION, "RDMAP version " + ((control & DdpSegment.RDMAP_VERSION_MASK) >> 6));
    }
    int opcode = control & 0xf;
    if (opcode > DdpSegment.TERMINATE) {
      return new IwarpError(TerminateInfo.LAYER_RDMAP, TerminateInfo.RDMAP_REMOTE_OPERATION,
          TerminateInfo.RDMAP_UNEXPECTED_OPCODE, "RDMAP opcode " + opcode);
    }
    int headerLength = tagged ? DdpSegment.TAGGED_HEADER_LENGTH : DdpSegment.UNTAGGED_HEADER_LENGTH;
    if (ulpduLength < headerLength) {
      return new IwarpError(TerminateInfo.LAYER_DDP, TerminateInfo.DDP_CATASTROPHIC, 0,
          "ULPDU of " + ulpduLength + " bytes is shorter than its DDP header");
    }
    boolean last = (control & DdpSegment.FLAG_LAST) != 0;
    in.skipBytes(4);
    DdpSegment segment;
    int payloadLength = ulpduLength - headerLength;
    if (tagged) {
      int stag = in.readInt();
      long to = in.readLong();
      segment = DdpSegment.tagged(opcode, last, stag, to, in.readRetainedSlice(payloadLength));
    } else {
      int rsvd = in.readInt();
      int qn = in.readInt();
      int msn = in.readInt();
      int mo = in.readInt();
      segment = DdpSegment.untagged(opcode, last, rsvd, qn, msn, mo, in.readRetainedSlice(payloadLength));
    }
    in.skipBytes(Fpdu.pad(ulpduLength) + 4);
    return segment;
  }

  private void fail(ByteBuf in, List<Object> out, int layer, int type, int code, String reason) {
    state = State.DISCARD;
    // Consume the input with the error: ByteToMessageDecoder rejects output produced without reading.
    in.skipBytes(in.readableBytes());
    out.add(new IwarpError(layer, type, code, reason));
  }
}
