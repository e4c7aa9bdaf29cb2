package io.spindle.rdma.disni;

import io.netty.buffer.ByteBuf;
import io.spindle.rdma.ConnectionEvent;
import io.spindle.rdma.ConnectionRejectedException;
import io.spindle.rdma.MemoryRegion;
import io.spindle.rdma.ProtectionDomain;
import io.spindle.rdma.QueuePairOptions;
import io.spindle.rdma.RdmaConnection;
import io.spindle.rdma.ReadRequest;
import io.spindle.rdma.ReceiveRequest;
import io.spindle.rdma.SendRequest;
import io.spindle.rdma.WorkCompletion;
import io.spindle.rdma.WorkCompletion.Opcode;
import io.spindle.rdma.WorkCompletion.Status;
import io.spindle.rdma.WriteRequest;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.net.SocketAddress;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * One RC queue pair and its rdma_cm id. Work requests posted during one event-loop task are
 * chained into one ibv_post_send (and one ibv_post_recv): iSER's Data-In RDMA Writes and the SCSI
 * Response Send that follows them go to the RNIC with one doorbell, only the Send signalled, as
 * Linux isert does. Send payloads and Write sources are copied into registered pool buffers; Read
 * sinks and receive buffers are the caller's registered regions.
 *
 * <p>Completions arrive from the device's completion thread, grouped per poll, on this
 * connection's context. A send-queue completion retires every earlier request of the send queue
 * too (verbs complete one send queue in order), which is when unsignaled requests give their
 * buffers back. Every error completion ends the connection: the queue pair is in the error state
 * and everything still posted completes as flushed.
 */
final class DisniConnection implements RdmaConnection {

  /** Receive work-request ids carry this bit; error completions have no valid opcode to tell them apart. */
  static final long RECEIVE_BIT = 1L << 62;
  /** How long a closed connection waits for the RNIC's flushed completions before freeing the queue pair. */
  static final long RELEASE_TIMEOUT_MILLIS = 5_000;

  private final DisniDevice device;
  private final Verbs verbs;
  private final ContextInternal context;
  private final DisniProtectionDomain pd;
  private final QueuePairOptions options;
  private final int maxSendWr;
  private Object id;
  private int qpNum = -1;
  private State state;
  private Handler<WorkCompletion> completionHandler = wc -> { };
  private Handler<ConnectionEvent> eventHandler = e -> { };
  private Buffer peerPrivateData = Buffer.buffer();
  private SocketAddress remoteAddress;
  private SocketAddress localAddress;
  private Promise<Void> established;
  private byte[] connectPrivateData;
  private final List<Promise<Void>> disconnects = new ArrayList<>();
  private boolean ended;
  private boolean released;
  /**
   * The orderly close has begun (our disconnect, or the peer's DISCONNECTED): flushed completions
   * are expected now and end the connection as DISCONNECTED, while any other error still ends it
   * as ERROR. The CQ and the event channel are read by different threads, so an error the RNIC
   * reported before the close may reach us after the DISCONNECTED event.
   */
  private boolean closing;

  /** A caller's request; several work requests carry one when a Write spans several buffers. */
  private static final class Request {
    final long wrId;
    final Opcode opcode;
    final boolean signaled;
    final int length;
    boolean reported;

    Request(long wrId, Opcode opcode, boolean signaled, int length) {
      this.wrId = wrId;
      this.opcode = opcode;
      this.signaled = signaled;
      this.length = length;
    }
  }

  /** One posted send-queue work request and the pool buffers it holds until it retires. */
  private record SendSlot(long verbsId, Request request, boolean last, List<BufferPool.Buffer> buffers,
      Verbs.SendWr wr) {
  }

  private record RecvSlot(long verbsId, long wrId, Verbs.RecvWr wr) {
  }

  private final ArrayDeque<SendSlot> sendQueue = new ArrayDeque<>();
  private final ArrayDeque<RecvSlot> receiveQueue = new ArrayDeque<>();
  /** Slots not yet handed to the RNIC (the tail of the queues). */
  private final List<SendSlot> unpostedSends = new ArrayList<>();
  private final List<RecvSlot> unpostedReceives = new ArrayList<>();
  private boolean flushScheduled;
  private int unsignaledRun;
  private long nextId = 1;

  private DisniConnection(DisniDevice device, ContextInternal context, DisniProtectionDomain pd,
      QueuePairOptions options, Object id, State state) {
    this.device = device;
    this.verbs = device.verbs();
    this.context = context;
    this.pd = pd;
    this.options = options;
    this.id = id;
    this.state = state;
    // Room for Writes split over several pool buffers next to the caller's requests.
    this.maxSendWr = 2 * options.sendQueueDepth();
  }

  /** The active side: an id of its own, resolved and connected by {@link #connect}. */
  static DisniConnection active(DisniDevice device, ContextInternal context, DisniProtectionDomain pd,
      QueuePairOptions options, Object id) {
    return new DisniConnection(device, context, pd, options, id, State.IDLE);
  }

  /** The passive side: the request's id; the queue pair exists at once so receives can be posted before accept. */
  static DisniConnection passive(DisniDevice device, ContextInternal context, DisniProtectionDomain pd,
      QueuePairOptions options, Object id, InetSocketAddress remote, InetSocketAddress local) {
    DisniConnection c = new DisniConnection(device, context, pd, options, id, State.CONNECTING);
    c.remoteAddress = address(remote);
    c.localAddress = address(local);
    c.createQueuePair();
    return c;
  }

  private static SocketAddress address(InetSocketAddress a) {
    return a == null ? null : SocketAddress.inetSocketAddress(a);
  }

  private void createQueuePair() {
    Verbs.QpCaps caps = new Verbs.QpCaps(maxSendWr, options.receiveQueueDepth(), device.options().maxSendSge(), 1,
        device.options().maxInlineData());
    device.reserveCompletions(maxSendWr + options.receiveQueueDepth());
    try {
      qpNum = verbs.createQp(id, pd.handle(), device.completionQueue(), caps);
    } catch (IOException e) {
      device.releaseCompletions(maxSendWr + options.receiveQueueDepth());
      throw new IllegalStateException("ibv_create_qp failed (" + caps + "): " + e.getMessage(), e);
    }
    pd.queuePairCreated();
    device.queuePairCreated(qpNum, this);
  }

  Object id() {
    return id;
  }

  // ------------------------------------------------------------------ accessors

  @Override
  public Context context() {
    return context;
  }

  @Override
  public State state() {
    return state;
  }

  @Override
  public ProtectionDomain protectionDomain() {
    return pd;
  }

  @Override
  public QueuePairOptions options() {
    return new QueuePairOptions(options);
  }

  @Override
  public SocketAddress remoteAddress() {
    return remoteAddress;
  }

  @Override
  public SocketAddress localAddress() {
    return localAddress;
  }

  /**
   * DiSNI 2.1 cannot set IRD/ORD: rdma_cm uses the device maximum, and the RNIC itself holds back
   * Reads beyond the negotiated depth. The requested value is what the ULP plans with.
   */
  @Override
  public int ord() {
    return options.ord();
  }

  @Override
  public int ird() {
    return options.ird();
  }

  @Override
  public Buffer peerPrivateData() {
    return peerPrivateData;
  }

  @Override
  public RdmaConnection completionHandler(Handler<WorkCompletion> handler) {
    this.completionHandler = handler == null ? wc -> { } : handler;
    return this;
  }

  @Override
  public RdmaConnection eventHandler(Handler<ConnectionEvent> handler) {
    this.eventHandler = handler == null ? e -> { } : handler;
    return this;
  }

  private void checkContext() {
    if (ContextInternal.current() != context) {
      throw new IllegalStateException("RDMA connection used off its context (" + Thread.currentThread().getName() + ")");
    }
  }

  // ------------------------------------------------------------------ connection management

  @Override
  public Future<Void> connect(SocketAddress remote, Buffer privateData) {
    checkContext();
    if (state != State.IDLE) return Future.failedFuture(new IllegalStateException("connect in state " + state));
    state = State.CONNECTING;
    established = Promise.promise();
    connectPrivateData = privateData == null ? new byte[0] : privateData.getBytes();
    remoteAddress = remote;
    try {
      verbs.resolveAddress(id, new InetSocketAddress(remote.host(), remote.port()), device.options().cmTimeoutMillis());
    } catch (IOException e) {
      end(ConnectionEvent.Type.ERROR, "rdma_resolve_addr " + remote + ": " + e.getMessage());
    }
    return established.future();
  }

  /** Passive side: accept after the caller posted its first receives (they reach the RNIC first). */
  Future<RdmaConnection> accept(byte[] privateData) {
    established = Promise.promise();
    flush();
    try {
      verbs.accept(id, privateData, options.ird(), options.ord());
    } catch (IOException e) {
      end(ConnectionEvent.Type.ERROR, "rdma_accept: " + e.getMessage());
    }
    return established.future().map(v -> this);
  }

  /** A connection-manager event for this id, on the context. */
  void cmEvent(Verbs.CmEvent e) {
    if (ended) return;
    switch (e.type()) {
      case ADDR_RESOLVED -> {
        try {
          verbs.resolveRoute(id, device.options().cmTimeoutMillis());
        } catch (IOException ex) {
          end(ConnectionEvent.Type.ERROR, "rdma_resolve_route: " + ex.getMessage());
        }
      }
      case ROUTE_RESOLVED -> {
        try {
          createQueuePair();
          localAddress = address(verbs.localAddress(id));
          flush();
          verbs.connect(id, connectPrivateData, options.ird(), options.ord());
        } catch (IOException | RuntimeException ex) {
          end(ConnectionEvent.Type.ERROR, "connecting to " + remoteAddress + ": " + ex.getMessage());
        }
      }
      case ESTABLISHED, CONNECT_RESPONSE -> established(e);
      case REJECTED -> {
        Promise<Void> p = established;
        established = null;
        end(ConnectionEvent.Type.ERROR, "rejected by " + remoteAddress);
        if (p != null) p.tryFail(new ConnectionRejectedException(Buffer.buffer(e.privateData())));
      }
      case DISCONNECTED -> peerDisconnected();
      case DEVICE_REMOVAL -> end(ConnectionEvent.Type.ERROR, "RDMA device " + verbs.deviceName() + " removed");
      case ADDR_ERROR, ROUTE_ERROR, UNREACHABLE, CONNECT_ERROR -> end(ConnectionEvent.Type.ERROR,
          e.type().toString().toLowerCase().replace('_', ' ') + " (status " + e.status() + ") for " + remoteAddress);
      default -> { }
    }
  }

  private void peerDisconnected() {
    if (receiveQueue.isEmpty() || state != State.ESTABLISHED) {
      end(ConnectionEvent.Type.DISCONNECTED, null);
      return;
    }
    // Posted receives always complete, flushed at the latest: the first completion decides.
    closing = true;
    flush();
    try {
      verbs.disconnect(id);
    } catch (IOException e) {
      end(ConnectionEvent.Type.DISCONNECTED, null);
    }
  }

  private void established(Verbs.CmEvent e) {
    if (state != State.CONNECTING) return;
    state = State.ESTABLISHED;
    if (e.privateData().length > 0) peerPrivateData = Buffer.buffer(e.privateData());
    eventHandler.handle(new ConnectionEvent(ConnectionEvent.Type.ESTABLISHED, null, null));
    flush();
    Promise<Void> p = established;
    established = null;
    if (p != null) p.tryComplete();
  }

  void requestPrivateData(byte[] data) {
    peerPrivateData = Buffer.buffer(data);
  }

  @Override
  public Future<Void> disconnect() {
    checkContext();
    if (ended) return Future.succeededFuture();
    Promise<Void> p = Promise.promise();
    disconnects.add(p);
    if (state == State.IDLE) {
      end(ConnectionEvent.Type.DISCONNECTED, null);
      return p.future();
    }
    // rdma_disconnect moves the queue pair to the error state: posted work completes as flushed,
    // and both sides get DISCONNECTED.
    flush();
    closing = true;
    try {
      verbs.disconnect(id);
    } catch (IOException e) {
      end(ConnectionEvent.Type.ERROR, "rdma_disconnect: " + e.getMessage());
    }
    return p.future();
  }

  /** Ends the connection once: the event, the flushes of what never reached the RNIC, the release. */
  void end(ConnectionEvent.Type type, String detail) {
    if (ended) return;
    ended = true;
    boolean wasConnected = state == State.ESTABLISHED || state == State.CONNECTING;
    state = State.CLOSED;
    Promise<Void> p = established;
    established = null;
    if (p != null) p.tryFail(detail != null ? detail : "connection closed before it was established");
    if (wasConnected && qpNum >= 0) {
      try {
        verbs.disconnect(id);
      } catch (IOException ignored) {
        // Already gone: the flushed completions follow either way.
      }
    }
    flushUnposted();
    eventHandler.handle(new ConnectionEvent(type, null, detail));
    for (Promise<Void> d : disconnects) d.tryComplete();
    disconnects.clear();
    maybeRelease();
    if (!released) context.owner().setTimer(RELEASE_TIMEOUT_MILLIS, t -> context.runOnContext(v -> release()));
  }

  private void flushUnposted() {
    for (SendSlot s : unpostedSends) {
      sendQueue.removeLastOccurrence(s);
      giveBack(s);
      report(s.request, Status.FLUSHED, "connection closed before the request was posted");
    }
    unpostedSends.clear();
    for (RecvSlot r : unpostedReceives) {
      receiveQueue.removeLastOccurrence(r);
      completionHandler.handle(WorkCompletion.error(r.wrId, Opcode.RECEIVE, Status.FLUSHED, "connection closed"));
    }
    unpostedReceives.clear();
  }

  private void maybeRelease() {
    if (ended && sendQueue.isEmpty() && receiveQueue.isEmpty()) release();
  }

  /** Frees the queue pair and id; requests the RNIC never reported complete as flushed. */
  private void release() {
    if (released) return;
    released = true;
    while (!sendQueue.isEmpty()) {
      SendSlot s = sendQueue.poll();
      giveBack(s);
      if (s.last) report(s.request, Status.FLUSHED, "connection closed");
    }
    while (!receiveQueue.isEmpty()) {
      RecvSlot r = receiveQueue.poll();
      completionHandler.handle(WorkCompletion.error(r.wrId, Opcode.RECEIVE, Status.FLUSHED, "connection closed"));
    }
    device.connectionReleased(this, qpNum);
    if (qpNum >= 0) {
      device.releaseCompletions(maxSendWr + options.receiveQueueDepth());
      try {
        verbs.destroyQp(id);
      } catch (IOException ignored) {
        // The id's destruction frees it too.
      }
      pd.queuePairDestroyed();
    }
    try {
      verbs.destroyId(id);
    } catch (IOException ignored) {
      // Nothing more to free.
    }
  }

  // ------------------------------------------------------------------ posting

  @Override
  public void postReceive(ReceiveRequest r) {
    checkContext();
    DisniMemoryRegion region = region(r.region());
    if (r.offset() < 0 || r.length() < 0 || (long) r.offset() + r.length() > region.length()) {
      throw new IllegalArgumentException("receive [" + r.offset() + ", +" + r.length() + ") outside " + region);
    }
    if (receiveQueue.size() >= options.receiveQueueDepth()) {
      throw new IllegalStateException("receive queue full (" + options.receiveQueueDepth() + ")");
    }
    if (state == State.CLOSED) {
      flushLater(r.wrId(), Opcode.RECEIVE);
      return;
    }
    long vid = RECEIVE_BIT | nextId++;
    RecvSlot slot = new RecvSlot(vid, r.wrId(),
        new Verbs.RecvWr(vid, new Verbs.Sge(region.address() + r.offset(), r.length(), region.lkey())));
    receiveQueue.add(slot);
    unpostedReceives.add(slot);
    scheduleFlush();
  }

  @Override
  public void postSend(SendRequest r) {
    ByteBuf payload = r.payload();
    try {
      checkContext();
      if (r.invalidate() && !verbs.features().sendWithInvalidate()) {
        throw new IllegalArgumentException("Send with Invalidate is not available on " + verbs.deviceName()
            + ": DiSNI 2.1 has no such opcode (see DeviceCapabilities.sendWithInvalidate)");
      }
      int length = payload.readableBytes();
      Request req = new Request(r.wrId(), Opcode.SEND, r.signaled(), length);
      if (state == State.CLOSED) {
        flushLater(req);
        return;
      }
      checkRoom(1);
      List<BufferPool.Buffer> buffers = copyIn(payload, length, device.options().maxSendSge());
      List<Verbs.Sge> sges = new ArrayList<>(buffers.size());
      int left = length;
      for (BufferPool.Buffer b : buffers) {
        int n = Math.min(left, b.size());
        sges.add(b.sge(n));
        left -= n;
      }
      int flags = (r.solicitedEvent() ? Verbs.SEND_SOLICITED : 0)
          | (length <= device.options().maxInlineData() ? Verbs.SEND_INLINE : 0);
      int opcode = r.invalidate() ? Verbs.WR_SEND_WITH_INV : Verbs.WR_SEND;
      enqueue(req, opcode, flags, sges, 0, 0, r.invalidate() ? r.invalidateStag() : 0, buffers, true);
    } finally {
      payload.release();
    }
  }

  @Override
  public void postWrite(WriteRequest w) {
    ByteBuf source = w.source();
    try {
      checkContext();
      int length = source.readableBytes();
      Request req = new Request(w.wrId(), Opcode.RDMA_WRITE, w.signaled(), length);
      if (state == State.CLOSED) {
        flushLater(req);
        return;
      }
      int chunk = pd.large().bufferSize();
      int wrs = Math.max(1, (length + chunk - 1) / chunk);
      checkRoom(wrs);
      if (length == 0) {
        enqueue(req, Verbs.WR_RDMA_WRITE, 0, List.of(), w.remoteOffset(), w.remoteStag(), 0, List.of(), true);
        return;
      }
      // RFC 5040 §5.1: one Write per buffer, at consecutive tagged offsets of the sink.
      for (int off = 0; off < length; off += chunk) {
        int n = Math.min(chunk, length - off);
        List<BufferPool.Buffer> b = copyIn(source.slice(source.readerIndex() + off, n), n, 1);
        enqueue(req, Verbs.WR_RDMA_WRITE, 0, List.of(b.get(0).sge(n)), w.remoteOffset() + off, w.remoteStag(), 0, b,
            off + n == length);
      }
    } finally {
      source.release();
    }
  }

  @Override
  public void postRead(ReadRequest r) {
    checkContext();
    DisniMemoryRegion sink = region(r.sink());
    if (r.sinkOffset() < 0 || r.length() < 0 || (long) r.sinkOffset() + r.length() > sink.length()) {
      throw new IllegalArgumentException("read sink [" + r.sinkOffset() + ", +" + r.length() + ") outside " + sink);
    }
    Request req = new Request(r.wrId(), Opcode.RDMA_READ, r.signaled(), r.length());
    if (state == State.CLOSED) {
      flushLater(req);
      return;
    }
    checkRoom(1);
    // The RNIC enforces the negotiated ORD: Reads beyond it wait in the send queue, and so does
    // everything posted after them.
    enqueue(req, Verbs.WR_RDMA_READ, 0, List.of(new Verbs.Sge(sink.address() + r.sinkOffset(), r.length(), sink.lkey())),
        r.remoteOffset(), r.remoteStag(), 0, List.of(), true);
  }

  private DisniMemoryRegion region(MemoryRegion mr) {
    if (mr instanceof DisniMemoryRegion d && d.pd() == pd) return d;
    throw new IllegalArgumentException(mr + " is not a region of this connection's protection domain");
  }

  private void checkRoom(int wrs) {
    if (sendQueue.size() + wrs > maxSendWr) {
      throw new IllegalStateException("send queue full (" + sendQueue.size() + " of " + maxSendWr + " work requests)");
    }
  }

  /** Copies {@code length} bytes into at most {@code maxBuffers} registered buffers. */
  private List<BufferPool.Buffer> copyIn(ByteBuf payload, int length, int maxBuffers) {
    List<BufferPool.Buffer> out = new ArrayList<>(2);
    if (length == 0) return out;
    BufferPool pool = length <= pd.small().bufferSize() ? pd.small() : pd.large();
    int needed = (length + pool.bufferSize() - 1) / pool.bufferSize();
    if (needed > maxBuffers) {
      throw new IllegalArgumentException("a message of " + length + " bytes needs " + needed + " buffers of "
          + pool.bufferSize() + " bytes; maxSendSge is " + maxBuffers);
    }
    int index = payload.readerIndex();
    int left = length;
    try {
      while (left > 0) {
        BufferPool.Buffer b = pool.take();
        if (b == null) {
          throw new IllegalStateException("registered " + pool.bufferSize() + "-byte buffers exhausted ("
              + pool.registered() + " in use); raise maxPoolBuffers or the send queue depth is too high");
        }
        out.add(b);
        int n = Math.min(left, b.size());
        payload.getBytes(index, b.memory().duplicate().clear().limit(n));
        index += n;
        left -= n;
      }
    } catch (RuntimeException e) {
      for (BufferPool.Buffer b : out) b.pool().give(b);
      throw e;
    }
    return out;
  }

  private void enqueue(Request req, int opcode, int flags, List<Verbs.Sge> sges, long remote, int rkey, int inv,
      List<BufferPool.Buffer> buffers, boolean last) {
    boolean signal = last && req.signaled;
    // Unsignaled work requests hold their send-queue slot (and buffers) until a later completion
    // retires them; signal one now and then so the queue cannot fill with them.
    if (!signal && ++unsignaledRun >= maxSendWr / 2) signal = true;
    if (signal) unsignaledRun = 0;
    long vid = nextId++;
    Verbs.SendWr wr = new Verbs.SendWr(vid, opcode, flags | (signal ? Verbs.SEND_SIGNALED : 0), sges, remote, rkey, inv);
    SendSlot slot = new SendSlot(vid, req, last, buffers, wr);
    sendQueue.add(slot);
    unpostedSends.add(slot);
    scheduleFlush();
  }

  private void flushLater(long wrId, Opcode opcode) {
    context.runOnContext(v -> completionHandler.handle(WorkCompletion.error(wrId, opcode, Status.FLUSHED,
        "connection closed")));
  }

  private void flushLater(Request req) {
    context.runOnContext(v -> report(req, Status.FLUSHED, "connection closed"));
  }

  private void scheduleFlush() {
    if (flushScheduled) return;
    flushScheduled = true;
    // After the current task: everything posted in it goes out as one chain.
    context.runOnContext(v -> flush());
  }

  /** Hands the batched work requests to the RNIC: receives once the queue pair exists, sends once established. */
  void flush() {
    flushScheduled = false;
    if (ended || qpNum < 0) return;
    try {
      if (!unpostedReceives.isEmpty()) {
        List<Verbs.RecvWr> chain = new ArrayList<>(unpostedReceives.size());
        for (RecvSlot r : unpostedReceives) chain.add(r.wr);
        unpostedReceives.clear();
        verbs.postRecv(id, chain);
      }
      if (state == State.ESTABLISHED && !unpostedSends.isEmpty()) {
        List<Verbs.SendWr> chain = new ArrayList<>(unpostedSends.size());
        for (SendSlot s : unpostedSends) chain.add(s.wr);
        unpostedSends.clear();
        verbs.postSend(id, chain);
      }
    } catch (IOException e) {
      end(ConnectionEvent.Type.ERROR, "posting work requests failed: " + e.getMessage());
    }
  }

  // ------------------------------------------------------------------ completions

  /** Completions of this queue pair, in CQ order, on the context. */
  void completions(List<Verbs.Wc> wcs) {
    for (Verbs.Wc wc : wcs) {
      if (released) return;
      if ((wc.wrId() & RECEIVE_BIT) != 0) received(wc);
      else sent(wc);
      if (wc.status() != Verbs.WC_SUCCESS && !ended) {
        if (closing && wc.status() == Verbs.WC_WR_FLUSH_ERR) end(ConnectionEvent.Type.DISCONNECTED, null);
        else end(ConnectionEvent.Type.ERROR, CompletionStatus.describe(wc.status()));
      }
    }
    maybeRelease();
  }

  private void received(Verbs.Wc wc) {
    RecvSlot slot;
    // Receives complete in posting order (RFC 5041 §5.3; one verbs receive queue).
    do {
      slot = receiveQueue.poll();
    } while (slot != null && slot.verbsId != wc.wrId());
    if (slot == null) return;
    if (wc.status() != Verbs.WC_SUCCESS) {
      completionHandler.handle(WorkCompletion.error(slot.wrId, Opcode.RECEIVE, CompletionStatus.of(wc.status()),
          CompletionStatus.describe(wc.status())));
      return;
    }
    boolean invalidated = (wc.flags() & Verbs.WC_WITH_INV) != 0;
    if (invalidated) pd.remotelyInvalidated(wc.invalidatedRkey());
    // Verbs do not say whether the Send carried a solicited event.
    completionHandler.handle(new WorkCompletion(slot.wrId, Opcode.RECEIVE, Status.SUCCESS, wc.byteLength(), false,
        invalidated, invalidated ? wc.invalidatedRkey() : 0, null));
  }

  private void sent(Verbs.Wc wc) {
    SendSlot slot;
    while ((slot = sendQueue.poll()) != null) {
      giveBack(slot);
      if (slot.verbsId == wc.wrId()) break;
      // Retired by this later completion: it succeeded unsignaled.
    }
    if (slot == null) return;
    if (wc.status() == Verbs.WC_SUCCESS) {
      if (slot.last && slot.request.signaled) report(slot.request, Status.SUCCESS, null);
    } else {
      report(slot.request, CompletionStatus.of(wc.status()), CompletionStatus.describe(wc.status()));
    }
  }

  private void report(Request req, Status status, String detail) {
    if (req.reported) return;
    req.reported = true;
    if (status == Status.SUCCESS) {
      completionHandler.handle(WorkCompletion.success(req.wrId, req.opcode,
          req.opcode == Opcode.RDMA_READ ? req.length : 0));
    } else {
      completionHandler.handle(WorkCompletion.error(req.wrId, req.opcode, status, detail));
    }
  }

  private static void giveBack(SendSlot s) {
    for (BufferPool.Buffer b : s.buffers) b.pool().give(b);
  }

  @Override
  public String toString() {
    return "DisniConnection{qp=" + qpNum + ", " + state + ", remote=" + remoteAddress + "}";
  }
}
