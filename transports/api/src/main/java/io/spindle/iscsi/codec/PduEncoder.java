package io.spindle.iscsi.codec;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import io.spindle.iscsi.pdu.Pdu;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Writes a PDU as a small header buffer (BHS, AHS, header digest) followed by the data
 * segment itself and a trailer (padding, data digest): the payload is never copied, the
 * channel gathers the pieces in one write (RFC 7143 §11.2).
 */
public final class PduEncoder extends MessageToMessageEncoder<Pdu> {

  private static final byte[] ZEROS = new byte[4];
  private final CodecLimits limits;

  public PduEncoder(CodecLimits limits) {
    super(Pdu.class);
    this.limits = limits;
  }

  @Override
  protected void encode(ChannelHandlerContext ctx, Pdu pdu, List<Object> out) {
    encode(ctx.alloc(), pdu, limits.headerDigest(), limits.dataDigest(), out);
  }

  /** Encodes without a pipeline. Consumes no reference of {@code pdu}; the pipeline path releases it after encoding. */
  public static void encode(io.netty.buffer.ByteBufAllocator alloc, Pdu pdu, boolean headerDigest, boolean dataDigest,
      List<Object> out) {
    ByteBuf ahs = pdu.ahs();
    ByteBuf data = pdu.data();
    int dataLength = data.readableBytes();
    int headerLength = Pdu.BHS_LENGTH + ahs.readableBytes();
    int padding = PduDecoder.pad4(dataLength) - dataLength;
    boolean withDataDigest = dataDigest && dataLength > 0;
    ByteBuf header = alloc.directBuffer(headerLength + 4);
    header.writeBytes(pdu.bhs(), pdu.bhs().readerIndex(), Pdu.BHS_LENGTH);
    header.writeBytes(ahs, ahs.readerIndex(), ahs.readableBytes());
    if (headerDigest) header.writeIntLE(Crc32c.of(header, 0, headerLength));
    out.add(header);
    if (dataLength == 0) return;
    out.add(data.retainedSlice());
    if (padding > 0 || withDataDigest) {
      ByteBuf trailer = alloc.directBuffer(8);
      trailer.writeBytes(ZEROS, 0, padding);
      if (withDataDigest) {
        CRC32C crc = new CRC32C();
        Crc32c.update(crc, data, data.readerIndex(), dataLength);
        Crc32c.updateZeros(crc, padding);
        trailer.writeIntLE((int) crc.getValue());
      }
      out.add(trailer);
    }
  }
}
