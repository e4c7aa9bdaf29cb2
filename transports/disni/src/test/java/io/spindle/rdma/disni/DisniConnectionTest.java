package io.spindle.rdma.disni;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.spindle.rdma.Access;
import io.spindle.rdma.ConnectionRequest;
import io.spindle.rdma.MemoryRegion;
import io.spindle.rdma.ProtectionDomain;
import io.spindle.rdma.QueuePairOptions;
import io.spindle.rdma.RdmaDevice;
import io.spindle.rdma.RdmaListener;
import io.spindle.rdma.ReceiveRequest;
import io.spindle.rdma.SendRequest;
import io.spindle.rdma.WorkCompletion;
import io.spindle.rdma.WriteRequest;
import io.spindle.rdma.tck.Endpoint;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The DiSNI provider's own logic over the fake verbs layer: chaining, buffers, signalling, dispatch. */
class DisniConnectionTest {

  private Vertx vertx;
  private RdmaDevice device;
  private FakeVerbs verbs;
  private RdmaListener listener;
  private final BlockingQueue<ConnectionRequest> requests = new LinkedBlockingQueue<>();
  private Endpoint server;
  private Endpoint client;
  private ProtectionDomain serverPd;
  private ProtectionDomain clientPd;
  private MemoryRegion serverRx;

  private void open(JsonObject options, QueuePairOptions qp) {
    vertx = Vertx.vertx();
    device = Endpoint.await(Fakes.provider(Verbs.Features.DISNI_2_1).open(vertx, options.put("deviceAddress", "127.0.0.1")));
    verbs = Fakes.last();
    listener = Endpoint.await(device.listen(SocketAddress.inetSocketAddress(0, "127.0.0.1"), requests::add));
    serverPd = device.allocateProtectionDomain();
    clientPd = device.allocateProtectionDomain();
    client = Endpoint.on(vertx.getOrCreateContext(), () -> new Endpoint(device.createConnection(clientPd, qp)));
    client.run(() -> client.connection.connect(SocketAddress.inetSocketAddress(listener.actualPort(), "127.0.0.1"),
        Buffer.buffer(new byte[] {(byte) 0x80, 0, 0, 0})));
    ConnectionRequest req = Endpoint.take(requests, "connection request");
    serverRx = serverPd.allocate(4 * 1024, Access.of(Access.LOCAL_WRITE));
    server = Endpoint.on(req.context(), () -> {
      Endpoint e = new Endpoint(req.createConnection(serverPd, qp));
      for (int i = 0; i < 4; i++) e.connection.postReceive(new ReceiveRequest(i, serverRx, i * 1024, 1024));
      req.accept(Buffer.buffer());
      return e;
    });
    client.event();
    server.event();
  }

  @AfterEach
  void close() {
    if (client != null) {
      client.run(() -> client.connection.disconnect());
      client.endEvent();
      server.endEvent();
    }
    if (serverPd != null) serverPd.close();
    if (clientPd != null) clientPd.close();
    if (listener != null) Endpoint.await(listener.close());
    if (device != null) {
      Endpoint.await(device.close());
      // Every queue pair and id was released: the device's threads stop and its queues are freed.
      Endpoint.await(((DisniDevice) device).freed());
    }
    if (vertx != null) Endpoint.await(vertx.close());
  }

  private static ByteBuf bytes(int n, int seed) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) b[i] = (byte) (i * 7 + seed);
    return Unpooled.wrappedBuffer(b);
  }

  @Test
  void receivesPostedBeforeAcceptReachTheRnicBeforeTheAccept() {
    open(new JsonObject(), new QueuePairOptions());
    List<String> calls = verbs.calls;
    assertTrue(calls.indexOf("postRecv") >= 0 && calls.indexOf("postRecv") < calls.indexOf("accept"), calls::toString);
  }

  @Test
  void dataInWritesAndTheResponseSendGoOutInOnePostWithOnlyTheSendSignalled() {
    open(new JsonObject(), new QueuePairOptions());
    MemoryRegion sink = serverPd.allocate(3 * 512, Access.of(Access.REMOTE_WRITE, Access.LOCAL_WRITE));
    int before = verbs.sendPosts.size();
    client.run(() -> {
      for (int i = 0; i < 3; i++) {
        client.connection.postWrite(WriteRequest.of(i, bytes(512, i), sink.stag(), sink.address() + i * 512L).unsignaled());
      }
      client.connection.postSend(SendRequest.of(9, Unpooled.copiedBuffer("SCSI Response", StandardCharsets.US_ASCII)));
    });
    assertEquals(9, client.completion().wrId(), "the unsignaled Writes report nothing");
    WorkCompletion recv = server.completion();
    assertEquals(13, recv.byteLength());
    assertEquals(before + 1, verbs.sendPosts.size(), "one ibv_post_send");
    List<Verbs.SendWr> chain = verbs.sendPosts.get(before);
    assertEquals(List.of(Verbs.WR_RDMA_WRITE, Verbs.WR_RDMA_WRITE, Verbs.WR_RDMA_WRITE, Verbs.WR_SEND),
        chain.stream().map(Verbs.SendWr::opcode).toList());
    assertEquals(List.of(false, false, false, true),
        chain.stream().map(w -> (w.flags() & Verbs.SEND_SIGNALED) != 0).toList());
    for (int i = 0; i < 3; i++) {
      byte[] expected = new byte[512];
      bytes(512, i).readBytes(expected);
      byte[] got = new byte[512];
      sink.buffer().getBytes(i * 512, got);
      assertArrayEquals(expected, got);
    }
  }

  @Test
  void unsignaledRequestsGiveTheirBuffersBackWhenALaterCompletionRetiresThem() {
    open(new JsonObject(), new QueuePairOptions());
    MemoryRegion sink = serverPd.allocate(4096, Access.of(Access.REMOTE_WRITE, Access.LOCAL_WRITE));
    DisniProtectionDomain pd = (DisniProtectionDomain) clientPd;
    client.run(() -> {
      client.connection.postWrite(WriteRequest.of(1, bytes(4096, 1), sink.stag(), sink.address()).unsignaled());
      client.connection.postSend(SendRequest.of(2, bytes(100, 2)));
    });
    assertEquals(2, client.completion().wrId());
    server.completion();
    assertEquals(pd.large().registered(), pd.large().available(), "the Write's buffer is back");
    assertEquals(pd.small().registered(), pd.small().available(), "the Send's buffer is back");
    int registrations = verbs.registrations;
    for (int i = 0; i < 3; i++) {
      int n = i;
      client.run(() -> client.connection.postWrite(WriteRequest.of(10 + n, bytes(4096, n), sink.stag(), sink.address())));
      assertEquals(10 + i, client.completion().wrId());
    }
    assertEquals(registrations, verbs.registrations, "no registration on the I/O path once warm");
  }

  @Test
  void longUnsignaledRunsAreSignalledInternallySoTheSendQueueCannotClog() {
    open(new JsonObject(), new QueuePairOptions().sendQueueDepth(4));
    MemoryRegion sink = serverPd.allocate(64, Access.of(Access.REMOTE_WRITE, Access.LOCAL_WRITE));
    int before = verbs.sendPosts.size();
    client.run(() -> {
      for (int i = 0; i < 6; i++) {
        client.connection.postWrite(WriteRequest.of(i, bytes(64, i), sink.stag(), sink.address()).unsignaled());
      }
    });
    client.run(() -> client.connection.postSend(SendRequest.of(99, bytes(8, 0))));
    assertEquals(99, client.completion().wrId(), "internal signals are not reported");
    server.completion();
    long signalled = verbs.sendPosts.subList(before, verbs.sendPosts.size()).stream().flatMap(List::stream)
        .filter(w -> w.opcode() == Verbs.WR_RDMA_WRITE && (w.flags() & Verbs.SEND_SIGNALED) != 0).count();
    assertTrue(signalled >= 1, "a run of 6 unsignaled Writes on an 8-deep queue gets a signal");
  }

  @Test
  void aWriteLargerThanAPoolBufferIsSplitAtConsecutiveTaggedOffsets() {
    open(new JsonObject().put("smallBufferSize", 256).put("largeBufferSize", 1024), new QueuePairOptions());
    MemoryRegion sink = serverPd.allocate(4096, Access.of(Access.REMOTE_WRITE, Access.LOCAL_WRITE));
    int before = verbs.sendPosts.size();
    client.run(() -> client.connection.postWrite(WriteRequest.of(5, bytes(2500, 3), sink.stag(), sink.address() + 100)));
    WorkCompletion wc = client.completion();
    assertEquals(5, wc.wrId());
    assertTrue(wc.ok());
    List<Verbs.SendWr> chain = verbs.sendPosts.get(before);
    assertEquals(List.of(sink.address() + 100, sink.address() + 1124, sink.address() + 2148),
        chain.stream().map(Verbs.SendWr::remoteAddress).toList());
    assertEquals(List.of(1024, 1024, 452), chain.stream().map(Verbs.SendWr::length).toList());
    byte[] expected = new byte[2500];
    bytes(2500, 3).readBytes(expected);
    byte[] got = new byte[2500];
    sink.buffer().getBytes(100, got);
    assertArrayEquals(expected, got);
  }

  @Test
  void smallSendsArePostedInline() {
    open(new JsonObject().put("maxInlineData", 32), new QueuePairOptions());
    int before = verbs.sendPosts.size();
    client.run(() -> client.connection.postSend(SendRequest.of(1, bytes(32, 0))));
    client.completion();
    client.run(() -> client.connection.postSend(SendRequest.of(2, bytes(33, 0))));
    client.completion();
    assertTrue((verbs.sendPosts.get(before).get(0).flags() & Verbs.SEND_INLINE) != 0);
    assertFalse((verbs.sendPosts.get(before + 1).get(0).flags() & Verbs.SEND_INLINE) != 0);
    server.completion();
    server.completion();
  }

  @Test
  void completionsAndEventsRunOnTheConnectionsContext() {
    open(new JsonObject(), new QueuePairOptions());
    AtomicReference<Context> seen = new AtomicReference<>();
    BlockingQueue<WorkCompletion> done = new LinkedBlockingQueue<>();
    client.run(() -> client.connection.completionHandler(wc -> {
      seen.set(Vertx.currentContext());
      done.add(wc);
    }));
    client.run(() -> client.connection.postSend(SendRequest.of(1, bytes(10, 0))));
    Endpoint.take(done, "completion");
    assertSame(client.connection.context(), seen.get());
    server.completion();
    client.run(() -> client.connection.completionHandler(client.completions::add));
  }

  @Test
  void sendWithInvalidateIsRefusedOnDisni21AndThePayloadIsReleased() {
    open(new JsonObject(), new QueuePairOptions());
    assertFalse(device.capabilities().sendWithInvalidate());
    ByteBuf payload = bytes(8, 0);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Endpoint.on(
        client.connection.context(), () -> {
          client.connection.postSend(SendRequest.of(1, payload).withInvalidate(0x1234));
          return null;
        }));
    assertTrue(e.getMessage().contains("DiSNI 2.1"), e.getMessage());
    assertEquals(0, payload.refCnt());
  }

  @Test
  void theRequestCarriesNoPrivateDataOnDisni21() {
    // The connect sent 0x80 (iSER ZBVA not supported); DiSNI 2.1 does not surface it, so iSER
    // assumes the RFC 7145 defaults and always honours the header's base offsets.
    open(new JsonObject(), new QueuePairOptions());
    assertEquals(0, Endpoint.on(server.connection.context(), () -> server.connection.peerPrivateData().length()));
  }
}
