package io.spindle.server.iser;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.spindle.initiator.Await;
import io.spindle.initiator.Cdbs;
import io.spindle.initiator.Connection;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.IscsiInitiator;
import io.spindle.initiator.ScsiResponse;
import io.spindle.initiator.Session;
import io.spindle.iscsi.pdu.Pdu;
import io.spindle.iscsi.pdu.ScsiCommandPdu;
import io.spindle.iscsi.pdu.ScsiResponsePdu;
import io.spindle.server.ItSupport;
import io.spindle.server.SpindleServer;
import io.spindle.server.config.ServerConfig;
import io.spindle.transport.iser.IserHeader;
import io.spindle.transport.iser.IserHello;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What an iSER session puts on the iWARP wire, read by a relay between the project's initiator and
 * the server's iser-iwarp portal, and how the target handles a peer that misbehaves: a Hello it
 * cannot serve, messages that are not iSER, and a Terminate.
 */
class IserWireIT {

  static final String TARGET = IserServerIT.TARGET;
  static final int BLOCK = 512;
  /** The ORD both ends settle on: the target's default (16) against the initiator's IRD (16). */
  static final int ORD = 16;

  static Vertx vertx;
  static SpindleServer server;
  static IwarpTap tap;
  static int tapPort;
  static IscsiInitiator iser;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    server = SpindleServer.start(vertx, ServerConfig.fromJson(IserServerIT.config())).await(30, TimeUnit.SECONDS);
    tap = new IwarpTap(vertx, IserServerIT.ISER_HOST, server.ports().get(1));
    tapPort = tap.start().await(10, TimeUnit.SECONDS);
    iser = IscsiInitiator.create(vertx, new InitiatorOptions().setTransport(InitiatorOptions.TRANSPORT_ISER_IWARP));
  }

  @AfterAll
  static void stop() throws Exception {
    if (iser != null) Await.result(iser.close());
    if (tap != null) tap.close().await(10, TimeUnit.SECONDS);
    if (server != null) server.stop().await(30, TimeUnit.SECONDS);
    if (vertx != null) vertx.close().await(10, TimeUnit.SECONDS);
  }

  static Session login() {
    return ItSupport.loginReady(iser, "127.0.0.1", tapPort, TARGET);
  }

  @Test
  void dataInIsRdmaWritesResponsesSendWithInvalidateAndWritesArePulledWithinOrd() {
    Session s = login();
    try {
      int before = tap.snapshot().size();
      // 32 writes of 256 KiB at once: each is one R2T (MaxBurstLength), i.e. one RDMA Read, so
      // the target has more Reads to issue than its ORD allows on the wire.
      int writes = 32;
      int size = 256 * 1024;
      byte[][] data = new byte[writes][];
      List<Future<ScsiResponse>> pending = new ArrayList<>();
      for (int i = 0; i < writes; i++) {
        data[i] = new byte[size];
        new Random(i).nextBytes(data[i]);
        pending.add(s.write(0, (long) i * (size / BLOCK), Unpooled.wrappedBuffer(data[i].clone()), BLOCK));
      }
      for (Future<ScsiResponse> f : pending) {
        try (ScsiResponse r = Await.result(f)) {
          assertTrue(r.isGood(), "write: " + r);
        }
      }
      for (int i = 0; i < 4; i++) {
        try (ScsiResponse r = Await.result(s.read(0, (long) i * (size / BLOCK), size / BLOCK, BLOCK))) {
          assertTrue(r.isGood(), "read: " + r);
          byte[] got = new byte[r.data().readableBytes()];
          r.data().getBytes(r.data().readerIndex(), got);
          assertArrayEquals(data[i], got);
        }
      }
      List<IwarpTap.Segment> seen = tap.snapshot().subList(before, tap.snapshot().size());
      long readRequests = seen.stream().filter(g -> !g.toTarget() && g.opcode() == IwarpTap.READ_REQUEST).count();
      int maxOutstanding = seen.stream().mapToInt(IwarpTap.Segment::outstandingReads).max().orElse(0);
      long pulled = seen.stream().filter(g -> g.toTarget() && g.opcode() == IwarpTap.READ_RESPONSE)
          .mapToLong(IwarpTap.Segment::payload).sum();
      long written = seen.stream().filter(g -> !g.toTarget() && g.opcode() == IwarpTap.RDMA_WRITE)
          .mapToLong(IwarpTap.Segment::payload).sum();
      long sendsWithInvalidate = seen.stream().filter(g -> !g.toTarget()
          && (g.opcode() == IwarpTap.SEND_INVALIDATE || g.opcode() == IwarpTap.SEND_SE_INVALIDATE)).count();
      // RFC 7145 §7.3.5: Data-Out beyond the immediate data is pulled with RDMA Reads.
      long immediate = (long) writes * Math.min(8192, size);
      assertEquals((long) writes * size - immediate, pulled, "bytes pulled by RDMA Read Responses");
      assertTrue(readRequests >= writes, "Read Requests: " + readRequests);
      // RFC 5040 §6.5 / siw: never more Read Requests outstanding than the negotiated ORD.
      assertTrue(maxOutstanding <= ORD, "outstanding RDMA Reads reached " + maxOutstanding);
      assertTrue(maxOutstanding > 1, "Reads were issued one at a time (" + maxOutstanding + ")");
      // RFC 7145 §7.3.4: Data-In is RDMA Writes (tagged), never data in Sends.
      assertEquals(4L * size, written, "bytes placed by RDMA Write");
      for (IwarpTap.Segment g : seen) {
        if (!g.toTarget() && !g.tagged()) {
          assertTrue(g.payload() <= 28 + 48 + 256, "a Send from the target carried " + g.payload() + " bytes");
        }
      }
      // RFC 7145 §7.3.9: each SCSI Response invalidates its task's STag (all 36 commands advertised one).
      assertTrue(sendsWithInvalidate >= writes + 4, "Sends with Invalidate: " + sendsWithInvalidate);
      assertTrue(seen.stream().noneMatch(g -> g.opcode() == IwarpTap.TERMINATE), "a Terminate was sent");
    } finally {
      Await.result(s.logout());
    }
  }

  @Test
  void helloForAVersionTheTargetLacksIsRejected() throws Exception {
    Connection c = Await.result(iser.connect("127.0.0.1", tapPort));
    ByteBuf hello = Unpooled.buffer(IserHeader.Format.RFC7145.length);
    // RFC 5046 §9.3: versions 2..2 only; the target speaks RFC 7145's.
    new IserHello.Hello(2, 2, 4).encode(hello, IserHeader.Format.RFC7145);
    Await.result(c.sendRaw(hello));
    Throwable why = Await.result(c.closeFuture(), Duration.ofSeconds(10));
    assertNotNull(why);
    assertTrue(why.getMessage().contains("HelloReply: rejected"), why.getMessage());
    stillServes();
  }

  @Test
  void messagesThatAreNotIserCloseOnlyThatConnection() throws Exception {
    Session good = login();
    try {
      // 1. Shorter than the iSER header.
      Connection shortMessage = Await.result(iser.connect("127.0.0.1", tapPort));
      Await.result(shortMessage.sendRaw(Unpooled.wrappedBuffer(new byte[10])));
      Await.result(shortMessage.closeFuture(), Duration.ofSeconds(10));
      // 2. An iSER opcode a target never receives (HelloReply).
      Connection badOpcode = Await.result(iser.connect("127.0.0.1", tapPort));
      Await.result(badOpcode.sendRaw(Unpooled.buffer(28).writeByte(0x30).writeZero(27)));
      Await.result(badOpcode.closeFuture(), Duration.ofSeconds(10));
      // 3. A control PDU whose DataSegmentLength runs past the message.
      Connection badLength = Await.result(iser.connect("127.0.0.1", tapPort));
      ByteBuf b = Unpooled.buffer(28 + 48);
      IserHeader.control().encode(b, IserHeader.Format.RFC7145);
      b.writeByte(0x43).writeZero(4).writeMedium(4096).writeZero(40);
      Await.result(badLength.sendRaw(b));
      Await.result(badLength.closeFuture(), Duration.ofSeconds(10));
      assertFalse(good.connection().isClosed());
      try (ScsiResponse r = Await.result(good.testUnitReady(0))) {
        assertTrue(r.isGood(), r.toString());
      }
    } finally {
      Await.result(good.logout());
    }
  }

  @Test
  void terminateFromTheInitiatorEndsOnlyThatConnection() throws Exception {
    Session s = login();
    int before = tap.snapshot().size();
    CompletableFuture<Integer> expCmdSn = new CompletableFuture<>();
    s.connection().pduHandler(p -> {
      if (p instanceof ScsiResponsePdu r) expCmdSn.complete(r.expCmdSn());
    });
    try (ScsiResponse r = Await.result(s.testUnitReady(0))) {
      assertTrue(r.isGood(), r.toString());
    }
    // A WRITE whose iSER header advertises an STag the initiator never registered: the target's
    // RDMA Read is refused by the initiator's RNIC with a Terminate (RFC 5040 §7), which ends the stream.
    ScsiCommandPdu cmd = new ScsiCommandPdu();
    cmd.write(true).taskAttribute(1);
    cmd.lun(0).itt(0x7777);
    cmd.expectedDataTransferLength(4096);
    cmd.cmdSn(expCmdSn.get(10, TimeUnit.SECONDS));
    cmd.cdb(Cdbs.write16(0, 8));
    cmd.finalBit(true);
    ByteBuf raw = Unpooled.buffer();
    new IserHeader(IserHeader.CONTROL, true, false, 0x0badbad0, 0x1000, 0, 0).encode(raw, IserHeader.Format.RFC7145);
    raw.writeBytes(cmd.bhs(), 0, Pdu.BHS_LENGTH);
    cmd.release();
    Await.result(s.connection().sendRaw(raw));
    Await.result(s.connection().closeFuture(), Duration.ofSeconds(10));
    // The relay forwards on its own event loop: wait (bounded) until it has seen the Terminate go by.
    List<IwarpTap.Segment> seen = List.of();
    for (int i = 0; i < 200; i++) {
      seen = tap.snapshot().subList(before, tap.snapshot().size());
      if (seen.stream().anyMatch(g -> g.toTarget() && g.opcode() == IwarpTap.TERMINATE)) break;
      Thread.sleep(25);
    }
    assertTrue(seen.stream().anyMatch(g -> g.toTarget() && g.opcode() == IwarpTap.TERMINATE),
        "no Terminate from the initiator: " + seen);
    Await.result(s.close());
    stillServes();
  }

  private static void stillServes() {
    Session s = login();
    try {
      try (ScsiResponse r = Await.result(s.testUnitReady(0))) {
        assertTrue(r.isGood(), r.toString());
      }
    } finally {
      Await.result(s.logout());
    }
  }
}
