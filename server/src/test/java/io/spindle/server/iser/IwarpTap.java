package io.spindle.server.iser;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A TCP relay between an initiator and an iSER portal that reads the iWARP stream it forwards:
 * the MPA Request/Reply (RFC 5044 §7.1) and then every FPDU (RFC 5044 §7.2: length, DDP/RDMAP
 * header, pad, CRC), recording each DDP segment's RDMAP opcode, flags and sizes. Assumes what the
 * software RNIC negotiates by default: no markers (siw refuses them). Both directions run on the
 * accepted socket's event loop, so "forwarded before" means "seen before".
 */
final class IwarpTap {

  /** RDMAP opcodes (RFC 5040 §4.2). */
  static final int RDMA_WRITE = 0;
  static final int READ_REQUEST = 1;
  static final int READ_RESPONSE = 2;
  static final int SEND = 3;
  static final int SEND_INVALIDATE = 4;
  static final int SEND_SE = 5;
  static final int SEND_SE_INVALIDATE = 6;
  static final int TERMINATE = 7;

  /**
   * One DDP segment.
   *
   * @param toTarget direction: initiator to target
   * @param opcode RDMAP opcode
   * @param tagged DDP T bit
   * @param last DDP L bit
   * @param payload bytes after the DDP/RDMAP header
   * @param invalidateStag for Send with Invalidate: the STag in the header
   * @param outstandingReads Read Requests to the initiator not yet answered in full, after this segment
   */
  record Segment(boolean toTarget, int opcode, boolean tagged, boolean last, int payload, int invalidateStag,
      int outstandingReads) {
  }

  private final Vertx vertx;
  private final String targetHost;
  private final int targetPort;
  private NetServer server;
  private NetClient client;
  final List<Segment> segments = Collections.synchronizedList(new ArrayList<>());

  IwarpTap(Vertx vertx, String targetHost, int targetPort) {
    this.vertx = vertx;
    this.targetHost = targetHost;
    this.targetPort = targetPort;
  }

  /** Listens on a free loopback port; returns it. */
  Future<Integer> start() {
    client = vertx.createNetClient();
    server = vertx.createNetServer().connectHandler(this::relay);
    return server.listen(0, "127.0.0.1").map(NetServer::actualPort);
  }

  Future<Void> close() {
    return server.close().eventually(() -> client.close());
  }

  List<Segment> snapshot() {
    synchronized (segments) {
      return new ArrayList<>(segments);
    }
  }

  private void relay(NetSocket in) {
    in.pause();
    client.connect(targetPort, targetHost).onComplete(ar -> {
      if (ar.failed()) {
        in.close();
        return;
      }
      NetSocket out = ar.result();
      int[] reads = new int[1];
      Parser up = new Parser(true, reads);
      Parser down = new Parser(false, reads);
      in.handler(b -> {
        up.feed(b);
        out.write(b);
      });
      out.handler(b -> {
        down.feed(b);
        in.write(b);
      });
      in.closeHandler(v -> out.close());
      out.closeHandler(v -> in.close());
      in.resume();
    });
  }

  /** Frames one direction of the stream. */
  private final class Parser {
    final boolean toTarget;
    final int[] outstandingReads;
    Buffer pending = Buffer.buffer();
    boolean mpaDone;

    Parser(boolean toTarget, int[] outstandingReads) {
      this.toTarget = toTarget;
      this.outstandingReads = outstandingReads;
    }

    void feed(Buffer b) {
      pending.appendBuffer(b);
      int at = 0;
      while (true) {
        if (!mpaDone) {
          // RFC 5044 §7.1: 16-byte key, 16 bits of flags and revision, PD_Length, private data.
          if (pending.length() - at < 20) break;
          int pd = pending.getUnsignedShort(at + 18);
          if (pending.length() - at < 20 + pd) break;
          at += 20 + pd;
          mpaDone = true;
          continue;
        }
        if (pending.length() - at < 2) break;
        int ulpdu = pending.getUnsignedShort(at);
        int pad = (4 - (2 + ulpdu) % 4) % 4;
        int total = 2 + ulpdu + pad + 4;
        if (pending.length() - at < total) break;
        segment(at + 2, ulpdu);
        at += total;
      }
      pending = pending.getBuffer(at, pending.length());
    }

    /** RFC 5041 §4: control byte T|L, then RDMAP version and opcode; tagged 14 bytes, untagged 18. */
    void segment(int at, int length) {
      int flags = pending.getUnsignedByte(at);
      int opcode = pending.getUnsignedByte(at + 1) & 0x0f;
      boolean tagged = (flags & 0x80) != 0;
      boolean last = (flags & 0x40) != 0;
      int header = tagged ? 14 : 18;
      int invalidate = !tagged && (opcode == SEND_INVALIDATE || opcode == SEND_SE_INVALIDATE)
          ? pending.getInt(at + 2) : 0;
      if (opcode == READ_REQUEST && !toTarget) outstandingReads[0]++;
      if (opcode == READ_RESPONSE && toTarget && last) outstandingReads[0]--;
      segments.add(new Segment(toTarget, opcode, tagged, last, length - header, invalidate, outstandingReads[0]));
    }
  }
}
