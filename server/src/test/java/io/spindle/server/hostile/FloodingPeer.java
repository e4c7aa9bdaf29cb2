package io.spindle.server.hostile;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * A logged-in peer that sends as fast as the server takes it and never reads, on a non-blocking
 * channel so that it sees when the server stops reading (its writes are no longer taken) and when
 * the server closes it (a write fails). The login itself goes through {@link RawPeer}.
 */
final class FloodingPeer implements AutoCloseable {

  /** What one flood PDU is, given its sequence number. */
  interface Pdus {
    byte[] next(int n);
  }

  private final RawPeer login;
  private final SocketChannel channel;

  FloodingPeer(RawPeer loggedIn) throws IOException {
    this.login = loggedIn;
    this.channel = loggedIn.socket.getChannel();
    if (channel == null) throw new IOException("RawPeer needs a channel-backed socket");
    channel.configureBlocking(false);
  }

  static FloodingPeer login(int port, String initiator, String target) throws IOException {
    SocketChannel ch = SocketChannel.open();
    ch.setOption(StandardSocketOptions.SO_RCVBUF, 4096);
    // Small kernel buffers on both ends (the test's portal too): what the server takes is what it read.
    ch.setOption(StandardSocketOptions.SO_SNDBUF, 65536);
    ch.socket().setSoTimeout(20_000);
    ch.connect(new InetSocketAddress("127.0.0.1", port));
    RawPeer p = new RawPeer(ch.socket());
    int status = p.login(initiator, target);
    if (status != 0) throw new IOException("login status 0x" + Integer.toHexString(status));
    return new FloodingPeer(p);
  }

  RawPeer raw() {
    return login;
  }

  /** What a flood saw: when the server last took bytes, and when it closed the connection (-1: never). */
  record Outcome(long lastTakenMillis, long closedMillis, long quietBeforeCloseMillis) {
  }

  /**
   * Sends PDUs whenever the server takes them, until it closes the connection or {@code maxMillis}
   * pass; {@code whenQuiet} runs once, the first time the server has taken nothing for a second.
   * Writes never cut a PDU short: the flood buffer goes on where the last write stopped.
   */
  Outcome floodUntilClosed(Pdus pdus, long maxMillis, Runnable whenQuiet) {
    long start = System.nanoTime();
    long lastTaken = start;
    boolean quietSeen = false;
    ByteBuffer buf = ByteBuffer.allocate(256 * 1024);
    buf.flip();
    int n = 0;
    while (System.nanoTime() - start < maxMillis * 1_000_000) {
      if (!buf.hasRemaining()) {
        buf.clear();
        while (buf.remaining() >= 65536) buf.put(pdus.next(n++));
        buf.flip();
      }
      int w;
      try {
        w = channel.write(buf);
      } catch (IOException closed) {
        long now = System.nanoTime();
        return new Outcome(ms(lastTaken - start), ms(now - start), ms(now - lastTaken));
      }
      long now = System.nanoTime();
      if (w > 0) {
        lastTaken = now;
      } else {
        if (!quietSeen && now - lastTaken > 1_000_000_000L) {
          quietSeen = true;
          whenQuiet.run();
        }
        sleep(5);
      }
    }
    return new Outcome(ms(lastTaken - start), -1, -1);
  }

  private static long ms(long nanos) {
    return nanos / 1_000_000;
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
