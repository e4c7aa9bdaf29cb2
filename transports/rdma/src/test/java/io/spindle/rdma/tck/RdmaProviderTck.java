package io.spindle.rdma.tck;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.spindle.rdma.Access;
import io.spindle.rdma.ConnectionEvent;
import io.spindle.rdma.ConnectionRejectedException;
import io.spindle.rdma.ConnectionRequest;
import io.spindle.rdma.MemoryRegion;
import io.spindle.rdma.ProtectionDomain;
import io.spindle.rdma.QueuePairOptions;
import io.spindle.rdma.RdmaConnection;
import io.spindle.rdma.RdmaDevice;
import io.spindle.rdma.RdmaListener;
import io.spindle.rdma.RdmaProvider;
import io.spindle.rdma.ReadRequest;
import io.spindle.rdma.ReceiveRequest;
import io.spindle.rdma.SendRequest;
import io.spindle.rdma.WorkCompletion;
import io.spindle.rdma.WorkCompletion.Opcode;
import io.spindle.rdma.WorkCompletion.Status;
import io.spindle.rdma.WriteRequest;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The contract every {@link RdmaProvider} must meet, over a loopback connection between two queue
 * pairs of one device. A provider's test extends this class and names the provider; see
 * {@code IwarpProviderTckTest}. Each test sets up its own connection.
 */
public abstract class RdmaProviderTck {

  /** The provider under test. */
  protected abstract RdmaProvider provider();

  /** Options for {@link RdmaProvider#open}. */
  protected JsonObject deviceOptions() {
    return new JsonObject();
  }

  /** Where the passive side listens. */
  protected String host() {
    return "127.0.0.1";
  }

  protected Vertx vertx;
  protected RdmaDevice device;
  private RdmaListener listener;
  private final BlockingQueue<ConnectionRequest> requests = new LinkedBlockingQueue<>();
  private final java.util.List<ProtectionDomain> domains = new java.util.ArrayList<>();

  /** A protection domain closed after the test (deregistering what the test left behind). */
  protected ProtectionDomain pd() {
    ProtectionDomain pd = device.allocateProtectionDomain();
    domains.add(pd);
    return pd;
  }

  @BeforeEach
  void openDevice() {
    vertx = Vertx.vertx();
    device = Endpoint.await(provider().open(vertx, deviceOptions()));
    listener = Endpoint.await(device.listen(SocketAddress.inetSocketAddress(0, host()), requests::add));
  }

  @AfterEach
  void closeDevice() {
    if (listener != null) Endpoint.await(listener.close());
    domains.forEach(ProtectionDomain::close);
    if (device != null) Endpoint.await(device.close());
    Endpoint.await(vertx.close());
  }

  /** A connected pair: the passive side's endpoint and the active side's. */
  protected record Pair(Endpoint server, Endpoint client, ProtectionDomain serverPd, ProtectionDomain clientPd) {
  }

  /**
   * Connects a client to the listener. {@code serverSetup} runs on the server connection's context
   * before accept (post receives there); the client side posts {@code clientReceives} receives of
   * {@code receiveSize} bytes before connecting.
   */
  protected Pair connect(QueuePairOptions serverOptions, QueuePairOptions clientOptions, int clientReceives,
      int serverReceives, int receiveSize) {
    ProtectionDomain spd = pd();
    ProtectionDomain cpd = pd();
    Endpoint client = Endpoint.on(vertx.getOrCreateContext(), () -> {
      Endpoint e = new Endpoint(device.createConnection(cpd, clientOptions));
      postReceives(e, cpd, clientReceives, receiveSize);
      return e;
    });
    CompletableFuture<Void> connected = new CompletableFuture<>();
    client.run(() -> client.connection.connect(SocketAddress.inetSocketAddress(listener.actualPort(), host()),
        Buffer.buffer("hello")).onComplete(ar -> {
          if (ar.succeeded()) connected.complete(null);
          else connected.completeExceptionally(ar.cause());
        }));
    ConnectionRequest request = Endpoint.take(requests, "connection request");
    Endpoint server = Endpoint.on(request.context(), () -> {
      Endpoint e = new Endpoint(request.createConnection(spd, serverOptions));
      postReceives(e, spd, serverReceives, receiveSize);
      request.accept(Buffer.buffer("welcome"));
      return e;
    });
    Endpoint.join(connected);
    assertEquals(ConnectionEvent.Type.ESTABLISHED, client.event().type());
    assertEquals(ConnectionEvent.Type.ESTABLISHED, server.event().type());
    return new Pair(server, client, spd, cpd);
  }

  protected Pair connect() {
    return connect(new QueuePairOptions(), new QueuePairOptions(), 8, 8, 4096);
  }

  private static void postReceives(Endpoint e, ProtectionDomain pd, int count, int size) {
    if (count == 0) return;
    MemoryRegion mr = pd.allocate(count * size, Access.of(Access.LOCAL_WRITE));
    for (int i = 0; i < count; i++) {
      e.connection.postReceive(new ReceiveRequest(1000 + i, mr, i * size, size));
    }
  }

  private static ByteBuf text(String s) {
    return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
  }

  private static byte[] pattern(int length, int seed) {
    byte[] b = new byte[length];
    for (int i = 0; i < length; i++) b[i] = (byte) (i * 31 + seed);
    return b;
  }

  private static byte[] bytes(MemoryRegion mr, int offset, int length) {
    byte[] b = new byte[length];
    mr.buffer().getBytes(offset, b);
    return b;
  }

  private static void disconnect(Pair p) {
    p.client.run(() -> p.client.connection.disconnect());
    p.client.endEvent();
    p.server.endEvent();
    p.serverPd.close();
    p.clientPd.close();
  }

  // ---------------------------------------------------------------- connection management

  @Test
  void connectCarriesPrivateDataBothWays() {
    ProtectionDomain spd = pd();
    ProtectionDomain cpd = pd();
    Endpoint client = Endpoint.on(vertx.getOrCreateContext(),
        () -> new Endpoint(device.createConnection(cpd, new QueuePairOptions())));
    CompletableFuture<Void> connected = new CompletableFuture<>();
    client.run(() -> client.connection.connect(SocketAddress.inetSocketAddress(listener.actualPort(), host()),
        Buffer.buffer(new byte[] {(byte) 0x80, 0, 0, 0})).onComplete(ar -> {
          if (ar.succeeded()) connected.complete(null);
          else connected.completeExceptionally(ar.cause());
        }));
    ConnectionRequest request = Endpoint.take(requests, "connection request");
    assertEquals(Buffer.buffer(new byte[] {(byte) 0x80, 0, 0, 0}), request.privateData());
    Endpoint server = Endpoint.on(request.context(), () -> {
      Endpoint e = new Endpoint(request.createConnection(spd, new QueuePairOptions()));
      request.accept(Buffer.buffer("reply-data"));
      return e;
    });
    Endpoint.join(connected);
    assertEquals(ConnectionEvent.Type.ESTABLISHED, client.event().type());
    assertEquals(ConnectionEvent.Type.ESTABLISHED, server.event().type());
    assertEquals("reply-data", Endpoint.on(client.connection.context(),
        () -> client.connection.peerPrivateData().toString()));
    assertEquals(RdmaConnection.State.ESTABLISHED, Endpoint.on(client.connection.context(),
        () -> client.connection.state()));
    disconnect(new Pair(server, client, spd, cpd));
  }

  @Test
  void rejectCarriesPrivateData() {
    ProtectionDomain cpd = pd();
    Endpoint client = Endpoint.on(vertx.getOrCreateContext(),
        () -> new Endpoint(device.createConnection(cpd, new QueuePairOptions())));
    CompletableFuture<Void> connected = new CompletableFuture<>();
    client.run(() -> client.connection.connect(SocketAddress.inetSocketAddress(listener.actualPort(), host()),
        Buffer.buffer("let me in")).onComplete(ar -> {
          if (ar.succeeded()) connected.complete(null);
          else connected.completeExceptionally(ar.cause());
        }));
    ConnectionRequest request = Endpoint.take(requests, "connection request");
    Endpoint.on(request.context(), () -> request.reject(Buffer.buffer("go away")));
    ConnectionRejectedException rejected = assertThrows(ConnectionRejectedException.class,
        () -> Endpoint.join(connected));
    assertEquals("go away", rejected.privateData().toString());
    cpd.close();
  }

  @Test
  void negotiatedOrdNeverExceedsPeerIrd() {
    Pair p = connect(new QueuePairOptions().ird(2).ord(8), new QueuePairOptions().ird(4).ord(8), 1, 1, 64);
    assertTrue(Endpoint.on(p.client.connection.context(), () -> p.client.connection.ord()) <= 2);
    assertTrue(Endpoint.on(p.server.connection.context(), () -> p.server.connection.ord()) <= 4);
    disconnect(p);
  }

  // ---------------------------------------------------------------- Send / Receive

  @Test
  void sendLandsInPostedReceivesInOrder() {
    Pair p = connect(new QueuePairOptions(), new QueuePairOptions(), 8, 0, 0);
    MemoryRegion rx = receiveRegion(p.server, p.serverPd, 2, 70_000);
    p.client.run(() -> {
      p.client.connection.postSend(SendRequest.of(1, text("first")));
      p.client.connection.postSend(SendRequest.of(2, Unpooled.wrappedBuffer(pattern(70_000, 3))).withSolicitedEvent());
    });
    WorkCompletion a = p.server.completion();
    WorkCompletion b = p.server.completion();
    assertEquals(Opcode.RECEIVE, a.opcode());
    assertTrue(a.ok(), a::toString);
    assertEquals(5, a.byteLength());
    assertFalse(a.solicitedEvent());
    assertTrue(b.ok(), b::toString);
    assertEquals(70_000, b.byteLength());
    assertTrue(b.solicitedEvent());
    assertEquals(2000, a.wrId());
    assertEquals(2001, b.wrId());
    assertArrayEquals(pattern(70_000, 3), bytes(rx, 70_000, 70_000));
    assertEquals(Status.SUCCESS, p.client.completion().status());
    assertEquals(Status.SUCCESS, p.client.completion().status());
    disconnect(p);
    rx.deregister();
  }

  /** Posts receives in a region of their own, as the only receives (connect posted none). */
  private static MemoryRegion receiveRegion(Endpoint e, ProtectionDomain pd, int count, int size) {
    MemoryRegion mr = pd.allocate(count * size, Access.of(Access.LOCAL_WRITE));
    e.run(() -> {
      for (int i = 0; i < count; i++) e.connection.postReceive(new ReceiveRequest(2000 + i, mr, i * size, size));
    });
    return mr;
  }

  @Test
  void sendPayloadArrivesIntact() {
    Pair p = connect(new QueuePairOptions(), new QueuePairOptions(), 0, 0, 0);
    MemoryRegion rx = receiveRegion(p.server, p.serverPd, 1, 200_000);
    byte[] data = pattern(150_001, 7);
    p.client.run(() -> p.client.connection.postSend(SendRequest.of(9, Unpooled.wrappedBuffer(data))));
    WorkCompletion wc = p.server.completion();
    assertEquals(2000, wc.wrId());
    assertEquals(150_001, wc.byteLength());
    assertArrayEquals(data, bytes(rx, 0, data.length));
    assertEquals(9, p.client.completion().wrId());
    disconnect(p);
  }

  @Test
  void serverMaySendAfterAccept() {
    Pair p = connect();
    // The passive side sends first: providers must cope with MPA's "initiator speaks first" rule.
    p.server.run(() -> p.server.connection.postSend(SendRequest.of(5, text("from the target"))));
    WorkCompletion wc = p.client.completion();
    assertEquals(Opcode.RECEIVE, wc.opcode());
    assertEquals(15, wc.byteLength());
    assertEquals(5, p.server.completion().wrId());
    disconnect(p);
  }

  @Test
  void sendLongerThanReceiveBufferFailsBothEnds() {
    Pair p = connect(new QueuePairOptions(), new QueuePairOptions(), 0, 0, 0);
    MemoryRegion rx = receiveRegion(p.server, p.serverPd, 1, 16);
    p.client.run(() -> p.client.connection.postSend(SendRequest.of(1, Unpooled.wrappedBuffer(pattern(17, 1)))));
    WorkCompletion wc = p.server.completion();
    assertEquals(Status.LOCAL_LENGTH_ERROR, wc.status());
    assertNotEquals(ConnectionEvent.Type.ESTABLISHED, p.server.endEvent().type());
    p.client.endEvent();
    rx.deregister();
  }

  // ---------------------------------------------------------------- RDMA Write

  @Test
  void writeIsPlacedBeforeALaterSendCompletes() {
    Pair p = connect();
    MemoryRegion target = p.serverPd.allocate(100_000, Access.of(Access.REMOTE_WRITE, Access.LOCAL_WRITE));
    byte[] data = pattern(80_000, 11);
    p.client.run(() -> {
      p.client.connection.postWrite(WriteRequest.of(1, Unpooled.wrappedBuffer(data), target.stag(),
          target.address() + 1000).unsignaled());
      p.client.connection.postSend(SendRequest.of(2, text("done")));
    });
    WorkCompletion recv = p.server.completion();
    assertEquals(Opcode.RECEIVE, recv.opcode());
    assertArrayEquals(data, bytes(target, 1000, data.length));
    assertArrayEquals(new byte[1000], bytes(target, 0, 1000));
    WorkCompletion send = p.client.completion();
    assertEquals(2, send.wrId(), "the unsignaled write reports nothing");
    disconnect(p);
  }

  @Test
  void writeToReadOnlyRegionTerminatesAndLeavesMemoryAlone() {
    Pair p = connect();
    MemoryRegion target = p.serverPd.allocate(4096, Access.of(Access.REMOTE_READ));
    p.client.run(() -> p.client.connection.postWrite(
        WriteRequest.of(1, Unpooled.wrappedBuffer(pattern(100, 1)), target.stag(), target.address())));
    assertViolation(p);
    assertArrayEquals(new byte[4096], bytes(target, 0, 4096));
  }

  @Test
  void writePastTheEndTerminatesAndLeavesMemoryAlone() {
    Pair p = connect();
    ByteBuf whole = Unpooled.directBuffer(8192).writeZero(8192);
    MemoryRegion target = p.serverPd.register(whole.slice(0, 4096), Access.of(Access.REMOTE_WRITE));
    p.client.run(() -> p.client.connection.postWrite(
        WriteRequest.of(1, Unpooled.wrappedBuffer(pattern(200, 1)), target.stag(), target.address() + 4000)));
    assertViolation(p);
    byte[] all = new byte[8192];
    whole.getBytes(0, all);
    assertArrayEquals(new byte[8192], all, "neither the region nor the bytes after it were touched");
    target.deregister();
    whole.release();
  }

  @Test
  void writeToAnotherDomainsStagTerminates() {
    Pair p = connect();
    ProtectionDomain other = pd();
    MemoryRegion foreign = other.allocate(4096, Access.of(Access.REMOTE_WRITE));
    p.client.run(() -> p.client.connection.postWrite(
        WriteRequest.of(1, Unpooled.wrappedBuffer(pattern(10, 1)), foreign.stag(), foreign.address())));
    assertViolation(p);
    assertArrayEquals(new byte[4096], bytes(foreign, 0, 4096));
    other.close();
  }

  /** The client's access was refused: both ends end the stream. */
  private static void assertViolation(Pair p) {
    ConnectionEvent c = p.client.endEvent();
    ConnectionEvent s = p.server.endEvent();
    assertTrue(c.type() == ConnectionEvent.Type.TERMINATED || c.type() == ConnectionEvent.Type.ERROR, c::toString);
    assertTrue(s.type() == ConnectionEvent.Type.TERMINATED || s.type() == ConnectionEvent.Type.ERROR, s::toString);
    if (c.terminate() != null) assertTrue(c.terminate().isProtectionError(), c::toString);
    // Receives the server had posted are flushed.
    WorkCompletion flushed = p.server.completion();
    assertEquals(Status.FLUSHED, flushed.status());
  }

  // ---------------------------------------------------------------- RDMA Read

  @Test
  void readFetchesRemoteMemory() {
    Pair p = connect();
    MemoryRegion source = p.serverPd.allocate(300_000, Access.of(Access.REMOTE_READ, Access.LOCAL_WRITE));
    byte[] data = pattern(300_000, 5);
    source.buffer().setBytes(0, data);
    MemoryRegion sink = p.clientPd.allocate(300_000, Access.of(Access.LOCAL_WRITE));
    p.client.run(() -> p.client.connection.postRead(
        ReadRequest.of(1, sink, 100, 250_000, source.stag(), source.address() + 50_000)));
    WorkCompletion wc = p.client.completion();
    assertTrue(wc.ok(), wc::toString);
    assertEquals(Opcode.RDMA_READ, wc.opcode());
    assertEquals(250_000, wc.byteLength());
    byte[] expected = new byte[250_000];
    System.arraycopy(data, 50_000, expected, 0, expected.length);
    assertArrayEquals(expected, bytes(sink, 100, 250_000));
    assertArrayEquals(new byte[100], bytes(sink, 0, 100));
    disconnect(p);
  }

  @Test
  void readsBeyondOrdWaitTheirTurnAndAllComplete() {
    Pair p = connect(new QueuePairOptions(), new QueuePairOptions().ord(1), 8, 8, 64);
    MemoryRegion source = p.serverPd.allocate(64 * 1024, Access.of(Access.REMOTE_READ));
    source.buffer().setBytes(0, pattern(64 * 1024, 9));
    MemoryRegion sink = p.clientPd.allocate(64 * 1024, Access.of(Access.LOCAL_WRITE));
    int reads = 8;
    int size = 8 * 1024;
    p.client.run(() -> {
      for (int i = 0; i < reads; i++) {
        p.client.connection.postRead(ReadRequest.of(i, sink, i * size, size, source.stag(), source.address() + i * size));
      }
      p.client.connection.postSend(SendRequest.of(99, text("after the reads")));
    });
    for (int i = 0; i < reads; i++) {
      WorkCompletion wc = p.client.completion();
      assertEquals(i, wc.wrId(), "reads complete in order");
      assertTrue(wc.ok(), wc::toString);
    }
    assertEquals(99, p.client.completion().wrId(), "send queue completions keep posting order");
    assertArrayEquals(bytes(source, 0, 64 * 1024), bytes(sink, 0, 64 * 1024));
    disconnect(p);
  }

  @Test
  void readOfUnknownStagFailsAndTouchesNothing() {
    Pair p = connect();
    MemoryRegion source = p.serverPd.allocate(4096, Access.of(Access.REMOTE_READ));
    MemoryRegion sink = p.clientPd.allocate(4096, Access.of(Access.LOCAL_WRITE));
    p.client.run(() -> p.client.connection.postRead(
        ReadRequest.of(1, sink, 0, 4096, source.stag() ^ 0x5a5a00, source.address())));
    WorkCompletion wc = p.client.completion(Opcode.RDMA_READ);
    assertFalse(wc.ok());
    assertTrue(wc.status() == Status.REMOTE_ACCESS_ERROR || wc.status() == Status.FLUSHED, wc::toString);
    assertArrayEquals(new byte[4096], bytes(sink, 0, 4096));
    assertNotEquals(ConnectionEvent.Type.ESTABLISHED, p.client.endEvent().type());
    p.server.endEvent();
  }

  @Test
  void readOfWriteOnlyRegionIsRefused() {
    Pair p = connect();
    MemoryRegion source = p.serverPd.allocate(4096, Access.of(Access.REMOTE_WRITE));
    source.buffer().setBytes(0, pattern(4096, 1));
    MemoryRegion sink = p.clientPd.allocate(4096, Access.of(Access.LOCAL_WRITE));
    p.client.run(() -> p.client.connection.postRead(ReadRequest.of(1, sink, 0, 4096, source.stag(), source.address())));
    assertFalse(p.client.completion(Opcode.RDMA_READ).ok());
    assertArrayEquals(new byte[4096], bytes(sink, 0, 4096));
  }

  @Test
  void readIntoSinkWithoutLocalWriteIsALocalProtectionError() {
    Pair p = connect();
    MemoryRegion source = p.serverPd.allocate(4096, Access.of(Access.REMOTE_READ));
    MemoryRegion sink = p.clientPd.allocate(4096, Access.of(Access.REMOTE_READ));
    p.client.run(() -> p.client.connection.postRead(ReadRequest.of(1, sink, 0, 4096, source.stag(), source.address())));
    assertEquals(Status.LOCAL_PROTECTION_ERROR, p.client.completion().status());
    disconnect(p);
  }

  // ---------------------------------------------------------------- invalidation

  @Test
  void sendWithInvalidateInvalidatesBeforeTheReceiveCompletes() {
    Pair p = connect();
    MemoryRegion target = p.serverPd.allocate(4096, Access.of(Access.REMOTE_WRITE, Access.REMOTE_READ));
    p.client.run(() -> p.client.connection.postSend(SendRequest.of(1, text("response")).withInvalidate(target.stag())));
    WorkCompletion wc = p.server.completion();
    assertTrue(wc.ok(), wc::toString);
    assertTrue(wc.invalidated());
    assertEquals(target.stag(), wc.invalidatedStag());
    assertFalse(target.isValid());
    // The invalidated STag is dead from now on.
    p.client.run(() -> p.client.connection.postWrite(
        WriteRequest.of(2, Unpooled.wrappedBuffer(pattern(64, 1)), target.stag(), target.address())));
    assertViolation(p);
    assertArrayEquals(new byte[4096], bytes(target, 0, 4096));
  }

  @Test
  void locallyInvalidatedRegionRefusesReads() {
    Pair p = connect();
    MemoryRegion source = p.serverPd.allocate(4096, Access.of(Access.REMOTE_READ));
    source.invalidate();
    assertFalse(source.isValid());
    MemoryRegion sink = p.clientPd.allocate(4096, Access.of(Access.LOCAL_WRITE));
    p.client.run(() -> p.client.connection.postRead(ReadRequest.of(1, sink, 0, 4096, source.stag(), source.address())));
    assertFalse(p.client.completion(Opcode.RDMA_READ).ok());
    assertArrayEquals(new byte[4096], bytes(sink, 0, 4096));
  }

  // ---------------------------------------------------------------- disconnect

  @Test
  void disconnectFlushesOutstandingWork() {
    Pair p = connect();
    p.client.run(() -> p.client.connection.disconnect());
    assertEquals(ConnectionEvent.Type.DISCONNECTED, p.client.endEvent().type());
    assertEquals(ConnectionEvent.Type.DISCONNECTED, p.server.endEvent().type());
    for (int i = 0; i < 8; i++) {
      assertEquals(Status.FLUSHED, p.server.completion().status());
      assertEquals(Status.FLUSHED, p.client.completion().status());
    }
    p.client.run(() -> p.client.connection.postSend(SendRequest.of(77, text("too late"))));
    WorkCompletion late = p.client.completion();
    assertEquals(77, late.wrId());
    assertEquals(Status.FLUSHED, late.status());
    assertEquals(RdmaConnection.State.CLOSED, Endpoint.on(p.client.connection.context(),
        () -> p.client.connection.state()));
  }

  @Test
  void postingFromAnotherThreadIsRefused() {
    Pair p = connect();
    ByteBuf payload = text("x");
    assertThrows(IllegalStateException.class, () -> p.client.connection.postSend(SendRequest.of(1, payload)));
    assertEquals(0, payload.refCnt(), "the payload was handed over even though the post failed");
    disconnect(p);
  }

  @Test
  void registrationRejectsNothingItShouldAccept() {
    ProtectionDomain pd = pd();
    MemoryRegion a = pd.allocate(1, Access.of(Access.LOCAL_WRITE));
    MemoryRegion b = pd.allocate(1, Access.of(Access.LOCAL_WRITE));
    assertNotEquals(a.stag(), b.stag(), "every region has its own STag");
    assertEquals(1, a.length());
    assertTrue(a.isValid());
    a.deregister();
    a.deregister();
    assertFalse(a.isValid());
    pd.close();
    assertFalse(b.isValid());
  }

}
