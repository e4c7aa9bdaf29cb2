package io.spindle.iscsi.codec;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.VoidChannelPromise;
import io.netty.handler.codec.EncoderException;
import io.netty.util.ReferenceCountUtil;
import io.spindle.iscsi.pdu.Pdu;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Writes a PDU as a small header buffer (BHS, AHS, header digest) followed by the data
 * segment itself and a trailer (padding, data digest): the payload is never copied, the
 * channel gathers the pieces in one write (RFC 7143 §11.2). Only the last piece carries the
 * caller's promise; the pieces before it go with a void promise, so a PDU costs no promise
 * combining (a write fails only on a closed channel, and then the last piece fails too).
 */
public final class PduEncoder extends ChannelOutboundHandlerAdapter {

  private static final byte[] ZEROS = new byte[4];
  private final CodecLimits limits;
  /** Reused for every PDU: writes happen on the channel's event loop only. */
  private final List<Object> pieces = new ArrayList<>(3);
  private ChannelPromise silent;

  public PduEncoder(CodecLimits limits) {
    this.limits = limits;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    silent = new VoidChannelPromise(ctx.channel(), false);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (!(msg instanceof Pdu pdu)) {
      ctx.write(msg, promise);
      return;
    }
    List<Object> out = pieces;
    try {
      encode(ctx.alloc(), pdu, limits.headerDigest(), limits.dataDigest(), out);
    } catch (RuntimeException | Error e) {
      for (Object o : out) ReferenceCountUtil.release(o);
      out.clear();
      promise.tryFailure(new EncoderException(e));
      return;
    } finally {
      pdu.release();
    }
    int n = out.size();
    Object header = out.get(0);
    Object data = n > 1 ? out.get(1) : null;
    Object trailer = n > 2 ? out.get(2) : null;
    out.clear();
    if (data == null) {
      ctx.write(header, promise);
      return;
    }
    ChannelPromise early = promise.isVoid() ? promise : silent;
    ctx.write(header, early);
    if (trailer == null) {
      ctx.write(data, promise);
      return;
    }
    ctx.write(data, early);
    ctx.write(trailer, promise);
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
    pdu.writeBhs(header);
    if (ahs.isReadable()) header.writeBytes(ahs, ahs.readerIndex(), ahs.readableBytes());
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
