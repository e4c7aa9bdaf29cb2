package io.spindle.rdma.iwarp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;

/**
 * A hand-driven iWARP peer on a blocking socket: writes exactly the frames a test builds and
 * decodes what comes back with the production decoder, so tests can misbehave on purpose.
 */
final class RawPeer implements AutoCloseable {

  static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;

  private final Socket socket = new Socket();
  private final EmbeddedChannel rx = new EmbeddedChannel(new FpduDecoder());

  /** @param receiveBuffer SO_RCVBUF, 0 for the default (small values make the peer a slow reader) */
  RawPeer(int port, int receiveBuffer) {
    try {
      if (receiveBuffer > 0) socket.setReceiveBufferSize(receiveBuffer);
      socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
      socket.setSoTimeout(10_000);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Writes and releases {@code frames}, all in one socket write. */
  void send(ByteBuf... frames) {
    ByteBuf all = Unpooled.buffer();
    for (ByteBuf f : frames) {
      all.writeBytes(f);
      f.release();
    }
    try {
      socket.getOutputStream().write(ByteBufUtil.getBytes(all));
      socket.getOutputStream().flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      all.release();
    }
  }

  void sendSegment(DdpSegment segment, boolean crc) {
    send(Fpdu.encode(ALLOC, segment, crc));
  }

  /** The next decoded frame, or null at end of stream. */
  @SuppressWarnings("unchecked")
  <T> T next() {
    byte[] buf = new byte[65536];
    while (true) {
      Object o = rx.readInbound();
      if (o != null) return (T) o;
      int n;
      try {
        n = socket.getInputStream().read(buf);
      } catch (IOException e) {
        return null;
      }
      if (n < 0) return null;
      rx.writeInbound(Unpooled.copiedBuffer(buf, 0, n));
    }
  }

  /** The next frame that is not a Read Response (whose payload is released). */
  DdpSegment nextSkippingReadResponses() {
    while (true) {
      Object o = next();
      if (o == null) return null;
      DdpSegment s = (DdpSegment) o;
      if (s.opcode() != DdpSegment.READ_RESPONSE) return s;
      s.payload().release();
    }
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException ignored) {
      // closing anyway
    }
    rx.finishAndReleaseAll();
  }
}
