package io.spindle.rdma.iwarp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.spindle.rdma.Access;
import io.spindle.rdma.ConnectionEvent;
import io.spindle.rdma.ConnectionRequest;
import io.spindle.rdma.MemoryRegion;
import io.spindle.rdma.ProtectionDomain;
import io.spindle.rdma.QueuePairOptions;
import io.spindle.rdma.RdmaListener;
import io.spindle.rdma.ReadRequest;
import io.spindle.rdma.ReceiveRequest;
import io.spindle.rdma.TerminateInfo;
import io.spindle.rdma.WorkCompletion;
import io.spindle.rdma.tck.Endpoint;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The passive side of the software RNIC against a hand-driven peer: what goes on the wire in
 * MPA negotiation, and how bad requests are terminated without touching memory.
 */
class IwarpWireTest {

  private Vertx vertx;
  private IwarpDevice device;
  private RdmaListener listener;
  private ProtectionDomain pd;
  private QueuePairOptions serverOptions = new QueuePairOptions();
  private final BlockingQueue<ConnectionRequest> requests = new LinkedBlockingQueue<>();
  private final BlockingQueue<Endpoint> servers = new LinkedBlockingQueue<>();

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    device = (IwarpDevice) Endpoint.await(new IwarpProvider().open(vertx, new JsonObject().put("instances", 1)));
    pd = device.allocateProtectionDomain();
    listener = Endpoint.await(device.listen(SocketAddress.inetSocketAddress(0, "127.0.0.1"), req -> {
      requests.add(req);
      Endpoint e = new Endpoint(req.createConnection(pd, serverOptions));
      MemoryRegion rx = pd.allocate(4 * 256, Access.of(Access.LOCAL_WRITE));
      for (int i = 0; i < 4; i++) e.connection.postReceive(new ReceiveRequest(i, rx, i * 256, 256));
      servers.add(e);
      req.accept(Buffer.buffer("srv"));
    }));
  }

  @AfterEach
  void stop() {
    Endpoint.await(listener.close());
    pd.close();
    Endpoint.await(device.close());
    Endpoint.await(vertx.close());
  }

  /** What ib_iser over siw sends (spec digest §B): revision 2, H, IRD 128, ORD 1, iSER CM header. */
  private static ByteBuf siwRequest(boolean crc) {
    return MpaFrame.withIrdOrd(false, crc, false, 128, 1, new byte[] {(byte) 0x80, 0, 0, 0}).encode(RawPeer.ALLOC);
  }

  private static DdpSegment send(int msn, String text) {
    return DdpSegment.untagged(DdpSegment.SEND, true, 0, DdpSegment.QN_SEND, msn, 0,
        Unpooled.copiedBuffer(text, java.nio.charset.StandardCharsets.US_ASCII));
  }

  private static DdpSegment readRequest(int msn, int sinkStag, long sinkTo, int size, int sourceStag, long sourceTo) {
    ByteBuf body = Unpooled.buffer(28).writeInt(sinkStag).writeLong(sinkTo).writeInt(size).writeInt(sourceStag)
        .writeLong(sourceTo);
    return DdpSegment.untagged(DdpSegment.READ_REQUEST, true, 0, DdpSegment.QN_READ_REQUEST, msn, 0, body);
  }

  /** Asserts the next frame is a Terminate with these codes; returns its control word. */
  private static int expectTerminate(RawPeer peer, int layer, int type, int code) {
    DdpSegment t = peer.nextSkippingReadResponses();
    assertNotNull(t, "expected a Terminate, the stream ended");
    try {
      assertEquals(DdpSegment.TERMINATE, t.opcode());
      assertEquals(DdpSegment.QN_TERMINATE, t.queue());
      assertEquals(1, t.msn());
      int control = t.payload().getInt(t.payload().readerIndex());
      assertEquals(layer, control >>> 28, "layer");
      assertEquals(type, (control >>> 24) & 0xf, "error type");
      assertEquals(code, (control >>> 16) & 0xff, "error code");
      return control;
    } finally {
      t.payload().release();
    }
  }

  private static void assertLocalTerminate(Endpoint server, int layer, int type, int code) {
    ConnectionEvent e = server.endEvent();
    assertEquals(ConnectionEvent.Type.TERMINATED, e.type());
    assertTrue(e.terminate().local());
    assertEquals(new TerminateInfo(layer, type, code, true), e.terminate());
  }

  private Endpoint connected(RawPeer peer, boolean crc) {
    peer.send(siwRequest(crc));
    MpaFrame reply = peer.next();
    assertTrue(reply.reply());
    assertFalse(reply.reject());
    Endpoint server = Endpoint.take(servers, "server connection");
    assertEquals(ConnectionEvent.Type.ESTABLISHED, server.event().type());
    return server;
  }

  @Test
  void siwStyleRequestGetsAnEnhancedReplyInKind() {
    try (RawPeer peer = new RawPeer(listener.actualPort(), 0)) {
      peer.send(siwRequest(false));
      MpaFrame reply = peer.next();
      assertTrue(reply.reply());
      assertEquals(2, reply.revision());
      assertTrue(reply.enhanced(), "RFC 6581: a v2 request gets a v2 reply with the IRD/ORD block");
      assertFalse(reply.crc());
      assertFalse(reply.markers());
      assertEquals(QueuePairOptions.DEFAULT_IRD, reply.irdWord() & MpaFrame.IRD_ORD_MASK);
      assertTrue((reply.ordWord() & MpaFrame.IRD_ORD_MASK) <= 128, "our ORD never exceeds the initiator's IRD");
      assertEquals(0, reply.irdWord() & MpaFrame.IRD_PEER_TO_PEER, "no RTR unless the request asked (A bit)");
      assertArrayEquals("srv".getBytes(), reply.ulpPrivateData());
      ConnectionRequest req = Endpoint.take(requests, "request");
      assertEquals(128, req.peerIrd());
      assertEquals(1, req.peerOrd());
      assertEquals(Buffer.buffer(new byte[] {(byte) 0x80, 0, 0, 0}), req.privateData());
      Endpoint server = Endpoint.take(servers, "server connection");
      assertEquals(ConnectionEvent.Type.ESTABLISHED, server.event().type());
      peer.sendSegment(send(1, "hi"), false);
      WorkCompletion wc = server.completion();
      assertTrue(wc.ok());
      assertEquals(2, wc.byteLength());
      // A skipped MSN is a DDP untagged error (RFC 5041 §7.2, code 3).
      peer.sendSegment(send(3, "skip"), false);
      expectTerminate(peer, TerminateInfo.LAYER_DDP, TerminateInfo.DDP_UNTAGGED_BUFFER,
          TerminateInfo.DDP_UNTAGGED_INVALID_MSN_RANGE);
      assertLocalTerminate(server, TerminateInfo.LAYER_DDP, TerminateInfo.DDP_UNTAGGED_BUFFER,
          TerminateInfo.DDP_UNTAGGED_INVALID_MSN_RANGE);
      assertNull(peer.next(), "the stream closes after the Terminate");
    }
  }

  @Test
  void revisionOneRequestGetsARevisionOneReply() {
    try (RawPeer peer = new RawPeer(listener.actualPort(), 0)) {
      peer.send(new MpaFrame(false, false, false, false, false, 1, "v1".getBytes()).encode(RawPeer.ALLOC));
      MpaFrame reply = peer.next();
      assertEquals(1, reply.revision());
      assertFalse(reply.enhanced());
      assertArrayEquals("srv".getBytes(), reply.privateData());
      assertEquals(-1, Endpoint.take(requests, "request").peerIrd());
    }
  }

  @Test
  void markersAreRejectedWithTheRBit() {
    try (RawPeer peer = new RawPeer(listener.actualPort(), 0)) {
      peer.send(new MpaFrame(false, true, false, false, false, 1, new byte[0]).encode(RawPeer.ALLOC));
      MpaFrame reply = peer.next();
      assertTrue(reply.reject());
      assertNull(peer.next(), "closed after the reject");
      assertTrue(requests.isEmpty(), "the application never saw the request");
    }
  }

  @Test
  void crcIsNegotiatedAndAMismatchTerminates() {
    try (RawPeer peer = new RawPeer(listener.actualPort(), 0)) {
      peer.send(siwRequest(true));
      MpaFrame reply = peer.next();
      assertTrue(reply.crc(), "RFC 5044 §7.1: C in the request is answered with C");
      Endpoint server = Endpoint.take(servers, "server connection");
      server.event();
      peer.sendSegment(send(1, "good"), true);
      assertTrue(server.completion().ok());
      ByteBuf frame = Fpdu.encode(RawPeer.ALLOC, send(2, "bad crc"), true);
      frame.setByte(frame.writerIndex() - 1, frame.getByte(frame.writerIndex() - 1) ^ 0x55);
      peer.send(frame);
      // The peer's decoder checks the Terminate's own CRC too.
      expectTerminate(peer, TerminateInfo.LAYER_LLP, TerminateInfo.LLP_MPA, TerminateInfo.LLP_CRC_ERROR);
      assertLocalTerminate(server, TerminateInfo.LAYER_LLP, TerminateInfo.LLP_MPA, TerminateInfo.LLP_CRC_ERROR);
    }
  }

  @Test
  void readOfAnUnregisteredStagIsTerminatedWithTheRequestAttached() {
    try (RawPeer peer = new RawPeer(listener.actualPort(), 0)) {
      Endpoint server = connected(peer, false);
      peer.sendSegment(readRequest(1, 0x100, 0, 64, 0x7777_7701, 0x1000), false);
      DdpSegment t = peer.nextSkippingReadResponses();
      int control = t.payload().getInt(0);
      assertEquals(TerminateInfo.LAYER_RDMAP, control >>> 28);
      assertEquals(TerminateInfo.RDMAP_REMOTE_PROTECTION, (control >>> 24) & 0xf);
      assertEquals(TerminateInfo.RDMAP_INVALID_STAG, (control >>> 16) & 0xff);
      assertEquals(0xE000, control & 0xE000, "M, D and R: the segment length, DDP and RDMAP headers follow");
      // Segment length, then the untagged DDP header of the Read Request, then its 28-byte RDMAP header.
      assertEquals(16 + 28, t.payload().getUnsignedShort(4));
      assertEquals(0x4141, t.payload().getUnsignedShort(6));
      assertEquals(0x7777_7701, t.payload().getInt(6 + 18 + 16));
      t.payload().release();
      assertLocalTerminate(server, TerminateInfo.LAYER_RDMAP, TerminateInfo.RDMAP_REMOTE_PROTECTION,
          TerminateInfo.RDMAP_INVALID_STAG);
      assertEquals(WorkCompletion.Status.FLUSHED, server.completion().status());
    }
  }

  @Test
  void readAndWriteOfAnInvalidatedStagTouchNothing() {
    MemoryRegion mr = pd.allocate(4096, Access.of(Access.REMOTE_READ, Access.REMOTE_WRITE));
    mr.buffer().setBytes(0, new byte[] {1, 2, 3, 4});
    mr.invalidate();
    try (RawPeer peer = new RawPeer(listener.actualPort(), 0)) {
      Endpoint server = connected(peer, false);
      peer.sendSegment(DdpSegment.tagged(DdpSegment.RDMA_WRITE, true, mr.stag(), mr.address(),
          Unpooled.wrappedBuffer(new byte[100])), false);
      expectTerminate(peer, TerminateInfo.LAYER_DDP, TerminateInfo.DDP_TAGGED_BUFFER,
          TerminateInfo.DDP_TAGGED_INVALID_STAG);
      assertLocalTerminate(server, TerminateInfo.LAYER_DDP, TerminateInfo.DDP_TAGGED_BUFFER,
          TerminateInfo.DDP_TAGGED_INVALID_STAG);
    }
    byte[] head = new byte[4];
    mr.buffer().getBytes(0, head);
    assertArrayEquals(new byte[] {1, 2, 3, 4}, head, "memory untouched");
    try (RawPeer peer = new RawPeer(listener.actualPort(), 0)) {
      connected(peer, false);
      peer.sendSegment(readRequest(1, 0x100, 0, 4, mr.stag(), mr.address()), false);
      // No Read Response may come before the Terminate: the invalid region is never read.
      DdpSegment first = peer.next();
      assertEquals(DdpSegment.TERMINATE, first.opcode());
      first.payload().release();
    }
  }

  @Test
  void moreReadRequestsThanIrdAreTerminated() {
    serverOptions = new QueuePairOptions().ird(1);
    int size = 8 << 20;
    MemoryRegion mr = pd.allocate(size, Access.of(Access.REMOTE_READ));
    // A slow reader: the first Read Response cannot leave before the second Read Request arrives.
    try (RawPeer peer = new RawPeer(listener.actualPort(), 8192)) {
      Endpoint server = connected(peer, false);
      ByteBuf both = Unpooled.buffer();
      for (int msn = 1; msn <= 2; msn++) {
        ByteBuf f = Fpdu.encode(RawPeer.ALLOC, readRequest(msn, 0x100, 0, size, mr.stag(), mr.address()), false);
        both.writeBytes(f);
        f.release();
      }
      peer.send(both);
      assertLocalTerminate(server, TerminateInfo.LAYER_DDP, TerminateInfo.DDP_UNTAGGED_BUFFER,
          TerminateInfo.DDP_UNTAGGED_NO_BUFFER);
    }
  }

  @Test
  void terminateFromThePeerEndsTheStreamAndFlushes() {
    try (RawPeer peer = new RawPeer(listener.actualPort(), 0)) {
      Endpoint server = connected(peer, false);
      ByteBuf body = Unpooled.buffer(4).writeInt(TerminateInfo.LAYER_RDMAP << 28
          | TerminateInfo.RDMAP_REMOTE_OPERATION << 24 | TerminateInfo.RDMAP_UNEXPECTED_OPCODE << 16);
      peer.sendSegment(DdpSegment.untagged(DdpSegment.TERMINATE, true, 0, DdpSegment.QN_TERMINATE, 1, 0, body), false);
      ConnectionEvent e = server.endEvent();
      assertEquals(ConnectionEvent.Type.TERMINATED, e.type());
      assertEquals(new TerminateInfo(TerminateInfo.LAYER_RDMAP, TerminateInfo.RDMAP_REMOTE_OPERATION,
          TerminateInfo.RDMAP_UNEXPECTED_OPCODE, false), e.terminate());
      for (int i = 0; i < 4; i++) assertEquals(WorkCompletion.Status.FLUSHED, server.completion().status());
      assertNull(peer.next());
    }
  }

  @Test
  void sendWithoutAPostedReceiveIsTerminated() {
    try (RawPeer peer = new RawPeer(listener.actualPort(), 0)) {
      Endpoint server = connected(peer, false);
      for (int msn = 1; msn <= 4; msn++) peer.sendSegment(send(msn, "x"), false);
      for (int i = 0; i < 4; i++) assertTrue(server.completion().ok());
      peer.sendSegment(send(5, "one too many"), false);
      expectTerminate(peer, TerminateInfo.LAYER_DDP, TerminateInfo.DDP_UNTAGGED_BUFFER,
          TerminateInfo.DDP_UNTAGGED_NO_BUFFER);
      server.endEvent();
    }
  }

  @Test
  void ordBoundsTheReadsOnTheWire() {
    MemoryRegion source = pd.allocate(6 * 4096, Access.of(Access.REMOTE_READ));
    ProtectionDomain cpd = device.allocateProtectionDomain();
    MemoryRegion sink = cpd.allocate(6 * 4096, Access.of(Access.LOCAL_WRITE));
    Endpoint client = Endpoint.on(vertx.getOrCreateContext(),
        () -> new Endpoint(device.createConnection(cpd, new QueuePairOptions().ord(2))));
    CompletableFuture<Void> up = new CompletableFuture<>();
    client.run(() -> client.connection.connect(SocketAddress.inetSocketAddress(listener.actualPort(), "127.0.0.1"),
        Buffer.buffer()).onComplete(ar -> up.complete(null)));
    Endpoint.join(up);
    Endpoint.take(servers, "server connection");
    client.run(() -> {
      for (int i = 0; i < 6; i++) {
        client.connection.postRead(ReadRequest.of(i, sink, i * 4096, 4096, source.stag(), source.address() + i * 4096));
      }
    });
    for (int i = 0; i < 6; i++) assertTrue(client.completion(WorkCompletion.Opcode.RDMA_READ).ok());
    int max = Endpoint.on(client.connection.context(), () -> ((IwarpConnection) client.connection).maxReadsOnWire());
    assertTrue(max >= 1 && max <= 2, "at most ORD = 2 Reads on the wire, saw " + max);
    client.run(() -> client.connection.disconnect());
    client.endEvent();
    cpd.close();
  }

  @Test
  void optionsAreValidated() {
    assertInstanceOf(IllegalArgumentException.class,
        new IwarpProvider().open(vertx, new JsonObject().put("mpaRevision", 3)).cause());
    assertInstanceOf(IllegalArgumentException.class,
        new IwarpProvider().open(vertx, new JsonObject().put("mulpdu", 70_000)).cause());
  }
}
