package io.spindle.rdma.iwarp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.util.ReferenceCountUtil;
import io.spindle.rdma.Access;
import io.spindle.rdma.ConnectionEvent;
import io.spindle.rdma.ConnectionRejectedException;
import io.spindle.rdma.ConnectionRequest;
import io.spindle.rdma.ProtectionDomain;
import io.spindle.rdma.QueuePairOptions;
import io.spindle.rdma.RdmaConnection;
import io.spindle.rdma.ReadRequest;
import io.spindle.rdma.ReceiveRequest;
import io.spindle.rdma.SendRequest;
import io.spindle.rdma.TerminateInfo;
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
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.SocketAddress;
import java.util.ArrayDeque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One queue pair of the software RNIC on one TCP connection: MPA negotiation (RFC 5044 §7, RFC 6581),
 * then RDMAP (RFC 5040) over DDP (RFC 5041) segments framed as FPDUs. All state is confined to the
 * connection's event loop.
 *
 * <p>Transmit: work requests wait in the send queue in order; a Read waits while ORD Reads are
 * outstanding and holds up everything behind it. Each message is written whole, segment after
 * segment, so segments of two messages never interleave. Payloads are not copied: segments are
 * slices of the caller's buffers or of registered regions.
 *
 * <p>Receive: every tagged segment is checked against the STag table (valid, same protection
 * domain, access right, no wrap, inside the region) before a byte is placed; a violation sends a
 * Terminate with the layer, type and code of RFC 5040 §7 / RFC 5041 §7 and ends the stream, and
 * the memory stays untouched.
 */
final class IwarpConnection implements RdmaConnection {

  private static final Logger log = LoggerFactory.getLogger(IwarpConnection.class);

  private final IwarpDevice device;
  private final IwarpOptions iw;
  private final ContextInternal context;
  private SoftProtectionDomain pd;
  private QueuePairOptions options;
  private NetSocketInternal socket;
  private final FpduDecoder decoder = new FpduDecoder();
  private State state = State.IDLE;
  private boolean active;
  private Handler<WorkCompletion> completionHandler = wc -> { };
  private Handler<ConnectionEvent> eventHandler = e -> { };
  private Buffer peerPrivateData = Buffer.buffer();
  private int ord;
  private int ird;
  private long timer = -1;
  private boolean ended;
  private boolean disconnecting;
  private Promise<Void> connectPromise;
  private Promise<Void> closePromise;
  /** The latest write; closing waits for it so a Terminate or Reject reaches the peer. */
  private Future<Void> lastWrite = Future.succeededFuture();

  // Passive side.
  private Handler<ConnectionRequest> requestHandler;
  /** Told why negotiation ended before a request was decided (streaming-mode switch), or null. */
  private Handler<String> requestFailed;
  private MpaFrame request;
  private Request pendingRequest;
  /** RFC 5044 §7.1.2: the responder sends no FPDU before the initiator's first one (or its RTR). */
  private boolean transmitHeld;
  private boolean expectRtr;

  // Transmit.
  private final ArrayDeque<Object> sendQueue = new ArrayDeque<>();
  private final ArrayDeque<PendingRead> outstandingReads = new ArrayDeque<>();
  /** Work requests on the wire, in posting order: completions are reported in this order. */
  private final ArrayDeque<SqEntry> inFlight = new ArrayDeque<>();
  private int sendMsn;
  private int readMsn;
  private int maxReadsOnWire;

  // Receive.
  private final ArrayDeque<ReceiveRequest> receiveQueue = new ArrayDeque<>();
  private ReceiveRequest currentReceive;
  private int currentReceiveBytes;
  private int expectedSendMsn = 1;
  private int expectedReadMsn = 1;
  private int inboundReads;

  /** A work request taken off the send queue; completes when done and all before it are. */
  private static final class SqEntry {
    final long wrId;
    final Opcode opcode;
    final boolean signaled;
    final int length;
    boolean done;
    Status status;
    String detail;

    SqEntry(long wrId, Opcode opcode, boolean signaled, int length) {
      this.wrId = wrId;
      this.opcode = opcode;
      this.signaled = signaled;
      this.length = length;
    }
  }

  /** An RDMA Read on the wire, waiting for its Read Response. */
  private static final class PendingRead {
    final ReadRequest request;
    final SqEntry entry;
    final long sinkOffset;
    int received;

    PendingRead(ReadRequest request, SqEntry entry, long sinkOffset) {
      this.request = request;
      this.entry = entry;
      this.sinkOffset = sinkOffset;
    }
  }

  private IwarpConnection(IwarpDevice device, ContextInternal context) {
    this.device = device;
    this.iw = device.options();
    this.context = context;
  }

  static IwarpConnection active(IwarpDevice device, ContextInternal context, SoftProtectionDomain pd,
      QueuePairOptions options) {
    IwarpConnection c = new IwarpConnection(device, context);
    c.pd = pd;
    c.options = options;
    c.active = true;
    return c;
  }

  /**
   * Passive side on an accepted socket: waits for the MPA Request.
   *
   * @param failed told why, when the stream ends before a request reached {@code handler}; may be null
   */
  static void passive(IwarpDevice device, ContextInternal context, NetSocketInternal socket,
      Handler<ConnectionRequest> handler, Handler<String> failed) {
    IwarpConnection c = new IwarpConnection(device, context);
    c.requestHandler = handler;
    c.requestFailed = failed;
    c.state = State.CONNECTING;
    c.transmitHeld = true;
    c.attach(socket);
    c.startTimer("MPA Request");
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
    return options;
  }

  @Override
  public SocketAddress remoteAddress() {
    return socket == null ? null : socket.remoteAddress();
  }

  @Override
  public SocketAddress localAddress() {
    return socket == null ? null : socket.localAddress();
  }

  @Override
  public int ord() {
    return ord;
  }

  @Override
  public int ird() {
    return ird;
  }

  @Override
  public Buffer peerPrivateData() {
    return peerPrivateData;
  }

  @Override
  public RdmaConnection completionHandler(Handler<WorkCompletion> handler) {
    this.completionHandler = handler;
    return this;
  }

  @Override
  public RdmaConnection eventHandler(Handler<ConnectionEvent> handler) {
    this.eventHandler = handler;
    return this;
  }

  /** The most RDMA Reads this side ever had on the wire at once (for tests of the ORD limit). */
  int maxReadsOnWire() {
    return maxReadsOnWire;
  }

  private void checkContext() {
    if (!context.nettyEventLoop().inEventLoop()) {
      throw new IllegalStateException("RDMA connection used outside its context " + context);
    }
  }

  private ByteBufAllocator alloc() {
    return socket.channelHandlerContext().alloc();
  }

  // ------------------------------------------------------------------ connection management

  private void attach(NetSocketInternal s) {
    this.socket = s;
    s.channelHandlerContext().pipeline().addBefore("handler", "iwarp-fpdu", decoder);
    s.messageHandler(this::received);
    s.closeHandler(v -> closed());
    s.exceptionHandler(err -> {
      log.debug("iWARP connection {}: {}", s.remoteAddress(), err.toString());
      end(ConnectionEvent.Type.ERROR, null, "connection error: " + err);
    });
  }

  private void startTimer(String what) {
    timer = device.vertx().setTimer(iw.mpaTimeoutMillis(), id -> context.runOnContext(v -> {
      timer = -1;
      if (state == State.CONNECTING) {
        log.warn("iWARP connection {}: no {} within {} ms", remoteAddress(), what, iw.mpaTimeoutMillis());
        end(ConnectionEvent.Type.ERROR, null, "MPA negotiation timed out waiting for the " + what);
      }
    }));
  }

  private void cancelTimer() {
    if (timer >= 0) {
      device.vertx().cancelTimer(timer);
      timer = -1;
    }
  }

  private byte[] checkedPrivateData(Buffer privateData) {
    byte[] pd = privateData == null ? new byte[0] : privateData.getBytes();
    if (pd.length > iw.maxPrivateData()) {
      throw new IllegalArgumentException("private data of " + pd.length + " bytes exceeds " + iw.maxPrivateData());
    }
    return pd;
  }

  @Override
  public Future<Void> connect(SocketAddress remote, Buffer privateData) {
    checkContext();
    if (!active || state != State.IDLE) throw new IllegalStateException("connect on a " + state + " connection");
    byte[] pd = checkedPrivateData(privateData);
    state = State.CONNECTING;
    connectPromise = context.promise();
    device.client().connect(remote).onComplete(ar -> {
      if (ar.failed()) {
        state = State.CLOSED;
        ended = true;
        flushAll(null);
        connectPromise.tryFail(ar.cause());
        return;
      }
      sendRequest((NetSocketInternal) ar.result(), pd);
    });
    return connectPromise.future();
  }

  @Override
  public Future<Void> connect(NetSocketInternal streaming, Buffer privateData) {
    checkContext();
    if (!active || state != State.IDLE) throw new IllegalStateException("connect on a " + state + " connection");
    if (!streaming.channelHandlerContext().channel().eventLoop().inEventLoop()) {
      throw new IllegalArgumentException("the socket belongs to another event loop than " + context);
    }
    byte[] pd = checkedPrivateData(privateData);
    state = State.CONNECTING;
    connectPromise = context.promise();
    // RFC 5044 §7.1: after streaming mode the initiator starts MPA with its Request, as on a new stream.
    sendRequest(streaming, pd);
    return connectPromise.future();
  }

  /** Active side: takes the socket and sends the MPA Request (RFC 5044 §7.1.1, RFC 6581 §5). */
  private void sendRequest(NetSocketInternal s, byte[] pd) {
    attach(s);
    MpaFrame req;
    if (iw.mpaRevision() == 2) {
      // RFC 6581 §5: our IRD and ORD; in peer-to-peer mode offer a zero-length RDMA Write RTR.
      int irdWord = (options.ird() & MpaFrame.IRD_ORD_MASK) | (iw.peerToPeer() ? MpaFrame.IRD_PEER_TO_PEER : 0);
      int ordWord = (options.ord() & MpaFrame.IRD_ORD_MASK) | (iw.peerToPeer() ? MpaFrame.ORD_ZERO_LENGTH_WRITE_RTR : 0);
      req = MpaFrame.withIrdOrd(false, iw.crc(), false, irdWord, ordWord, pd);
    } else {
      req = new MpaFrame(false, false, iw.crc(), false, false, 1, pd);
    }
    writeRaw(req.encode(alloc()), true);
    startTimer("MPA Reply");
  }

  private void received(Object msg) {
    if (ended) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (msg instanceof DdpSegment seg) {
      try {
        segment(seg);
      } catch (RuntimeException e) {
        // A failing application handler must not take the event loop down with it.
        log.error("iWARP connection {}: handler failed", remoteAddress(), e);
        terminate(TerminateInfo.LAYER_RDMAP, TerminateInfo.RDMAP_REMOTE_OPERATION,
            TerminateInfo.RDMAP_CATASTROPHIC_STREAM, null, "local failure: " + e);
      } finally {
        seg.payload().release();
      }
    } else if (msg instanceof MpaFrame frame) {
      if (active) mpaReply(frame);
      else mpaRequest(frame);
    } else if (msg instanceof IwarpError err) {
      if (state == State.CONNECTING) {
        log.warn("iWARP connection {}: {}", remoteAddress(), err.reason());
        end(ConnectionEvent.Type.ERROR, null, err.reason());
      } else {
        terminate(err.layer(), err.errorType(), err.errorCode(), null, err.reason());
      }
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  /** Active side: the MPA Reply (RFC 5044 §7.1.2, RFC 6581 §5). */
  private void mpaReply(MpaFrame reply) {
    if (!reply.reply() || state != State.CONNECTING) {
      end(ConnectionEvent.Type.ERROR, null, "expected an MPA Reply, received a Request");
      return;
    }
    cancelTimer();
    peerPrivateData = Buffer.buffer(reply.ulpPrivateData());
    if (reply.reject()) {
      connectPromise.tryFail(new ConnectionRejectedException(peerPrivateData));
      end(ConnectionEvent.Type.ERROR, null, "connection rejected by the peer");
      return;
    }
    if (reply.markers()) {
      end(ConnectionEvent.Type.ERROR, null, "peer requires MPA markers, which this stack never uses");
      return;
    }
    if (reply.revision() < 1 || reply.revision() > iw.mpaRevision()) {
      end(ConnectionEvent.Type.ERROR, null, "MPA Reply revision " + reply.revision() + " not offered");
      return;
    }
    ird = options.ird();
    ord = options.ord();
    boolean sendRtr = false;
    if (reply.enhanced()) {
      if (reply.privateData().length < 4) {
        end(ConnectionEvent.Type.ERROR, null, "enhanced MPA Reply without the IRD/ORD block");
        return;
      }
      int peerIrd = reply.irdWord() & MpaFrame.IRD_ORD_MASK;
      int peerOrd = reply.ordWord() & MpaFrame.IRD_ORD_MASK;
      // RFC 6581 §5: never more Reads outstanding than the responder's IRD.
      ord = Math.min(ord, peerIrd);
      if (peerOrd > ird || ord == 0) {
        end(ConnectionEvent.Type.ERROR, null, "MPA Reply IRD/ORD " + peerIrd + "/" + peerOrd
            + " do not fit our IRD/ORD " + ird + "/" + options.ord());
        return;
      }
      sendRtr = iw.peerToPeer() && (reply.irdWord() & MpaFrame.IRD_PEER_TO_PEER) != 0
          && (reply.ordWord() & MpaFrame.ORD_ZERO_LENGTH_WRITE_RTR) != 0;
    }
    decoder.crc(reply.crc());
    if (sendRtr) {
      // RFC 6581 §6: the RTR, a zero-length RDMA Write, is the initiator's first FPDU.
      write(DdpSegment.tagged(DdpSegment.RDMA_WRITE, true, 0, 0, Unpooled.EMPTY_BUFFER));
    }
    established();
    connectPromise.tryComplete();
  }

  /** Passive side: the MPA Request (RFC 5044 §7.1.1). */
  private void mpaRequest(MpaFrame req) {
    if (req.reply()) {
      end(ConnectionEvent.Type.ERROR, null, "expected an MPA Request, received a Reply");
      return;
    }
    cancelTimer();
    this.request = req;
    if (req.markers() || req.revision() < 1 || (req.enhanced() && req.privateData().length < 4)) {
      // We never use markers (RFC 5044 §7.1: M asks the responder to send them); reject in kind.
      log.warn("iWARP connection {}: rejecting MPA Request (markers={}, revision={})", remoteAddress(),
          req.markers(), req.revision());
      sendReply(true, new byte[0]);
      end(ConnectionEvent.Type.ERROR, null, "unsupported MPA Request");
      return;
    }
    Request r = new Request(req);
    pendingRequest = r;
    startTimer("accept decision");
    try {
      requestHandler.handle(r);
    } catch (RuntimeException e) {
      log.warn("iWARP connection {}: connection request handler failed", remoteAddress(), e);
      if (state == State.CONNECTING) {
        sendReply(true, new byte[0]);
        end(ConnectionEvent.Type.ERROR, null, "connection request handler failed: " + e);
      }
    }
  }

  private int replyRevision() {
    return Math.min(request.revision(), 2);
  }

  /** Builds and writes the MPA Reply, in kind with the request (RFC 6581 §5). */
  private void sendReply(boolean reject, byte[] ulp) {
    boolean crc = request.crc() || iw.crc();
    MpaFrame reply;
    if (replyRevision() == 2 && request.enhanced()) {
      int irdWord = options == null ? 1 : ird;
      int ordWord = options == null ? 0 : ord;
      if (expectRtr) {
        irdWord |= MpaFrame.IRD_PEER_TO_PEER;
        ordWord |= MpaFrame.ORD_ZERO_LENGTH_WRITE_RTR;
      }
      reply = MpaFrame.withIrdOrd(true, crc, reject, irdWord, ordWord, ulp);
    } else {
      reply = new MpaFrame(true, false, crc, reject, false, replyRevision(), ulp);
    }
    // The initiator may send FPDUs as soon as it has the Reply: frame them right from here.
    decoder.crc(crc);
    writeRaw(reply.encode(alloc()), true);
  }

  private Future<RdmaConnection> accept(Request r, Buffer privateData) {
    checkContext();
    if (pendingRequest != r || state != State.CONNECTING) {
      return Future.failedFuture(new IllegalStateException("the connection request is no longer pending"));
    }
    if (options == null) throw new IllegalStateException("createConnection before accept");
    byte[] ulp = checkedPrivateData(privateData);
    cancelTimer();
    pendingRequest = null;
    ird = options.ird();
    ord = options.ord();
    if (request.enhanced()) {
      int peerIrd = request.irdWord() & MpaFrame.IRD_ORD_MASK;
      // RFC 6581 §5: the responder's ORD never exceeds the initiator's IRD.
      ord = Math.min(ord, peerIrd);
      expectRtr = iw.peerToPeer() && (request.irdWord() & MpaFrame.IRD_PEER_TO_PEER) != 0
          && (request.ordWord() & MpaFrame.ORD_ZERO_LENGTH_WRITE_RTR) != 0;
    }
    sendReply(false, ulp);
    established();
    return Future.succeededFuture(this);
  }

  private Future<Void> reject(Request r, Buffer privateData) {
    checkContext();
    if (pendingRequest != r || state != State.CONNECTING) {
      return Future.failedFuture(new IllegalStateException("the connection request is no longer pending"));
    }
    byte[] ulp = checkedPrivateData(privateData);
    pendingRequest = null;
    // RFC 5044 §7.1.2: a Reply with R set, then the connection closes.
    sendReply(true, ulp);
    Promise<Void> p = context.promise();
    closePromise = p;
    end(ConnectionEvent.Type.DISCONNECTED, null, "connection request rejected");
    return p.future();
  }

  private void established() {
    state = State.ESTABLISHED;
    eventHandler.handle(new ConnectionEvent(ConnectionEvent.Type.ESTABLISHED, null, null));
    pump();
  }

  @Override
  public Future<Void> disconnect() {
    checkContext();
    if (closePromise == null) closePromise = context.promise();
    if (ended || socket == null) {
      if (!ended) end(ConnectionEvent.Type.DISCONNECTED, null, "closed before connecting");
      closePromise.tryComplete();
      return closePromise.future();
    }
    disconnecting = true;
    closeAfterWrites();
    return closePromise.future();
  }

  private void closed() {
    if (closePromise != null) closePromise.tryComplete();
    if (ended) return;
    if (state == State.CONNECTING) {
      end(ConnectionEvent.Type.ERROR, null, "connection closed during MPA negotiation");
    } else {
      end(ConnectionEvent.Type.DISCONNECTED, null, disconnecting ? "disconnected" : "peer closed the connection");
    }
  }

  /**
   * Ends the stream once: the event, then every outstanding work request completes (the Read at
   * the head of the queue with the error a received Terminate names), then the socket closes.
   */
  private void end(ConnectionEvent.Type type, TerminateInfo terminate, String detail) {
    if (ended) return;
    ended = true;
    boolean wasConnecting = state == State.CONNECTING;
    state = State.CLOSED;
    cancelTimer();
    if (connectPromise != null) {
      connectPromise.tryFail(detail == null ? "connection ended" : detail);
    }
    if (pendingRequest != null) pendingRequest = null;
    if (!wasConnecting || active) eventHandler.handle(new ConnectionEvent(type, terminate, detail));
    if (wasConnecting && !active && requestFailed != null) requestFailed.handle(detail);
    flushAll(terminate);
    if (socket != null) closeAfterWrites();
  }

  /** Closes once everything written has left, or after the MPA timeout if the peer stopped reading. */
  private void closeAfterWrites() {
    long guard = device.vertx().setTimer(iw.mpaTimeoutMillis(), id -> socket.close());
    lastWrite.onComplete(ar -> {
      device.vertx().cancelTimer(guard);
      socket.close();
    });
  }

  private void flushAll(TerminateInfo terminate) {
    if (currentReceive != null) {
      flushed(currentReceive.wrId(), Opcode.RECEIVE);
      currentReceive = null;
    }
    PendingRead head = outstandingReads.poll();
    if (head != null && terminate != null && !terminate.local()) {
      // The peer's Terminate answers the oldest Read on the wire (RFC 5040 §7.1).
      finish(head.entry, terminate.isProtectionError() ? Status.REMOTE_ACCESS_ERROR : Status.REMOTE_OPERATION_ERROR,
          terminate.toString());
    }
    outstandingReads.clear();
    for (SqEntry e : inFlight) {
      if (!e.done) {
        e.done = true;
        e.status = Status.FLUSHED;
        e.detail = "connection ended";
      }
    }
    drain();
    for (Object wr; (wr = sendQueue.poll()) != null; ) {
      if (wr instanceof SendRequest s) {
        s.payload().release();
        flushed(s.wrId(), Opcode.SEND);
      } else if (wr instanceof WriteRequest w) {
        w.source().release();
        flushed(w.wrId(), Opcode.RDMA_WRITE);
      } else if (wr instanceof ReadRequest r) {
        flushed(r.wrId(), Opcode.RDMA_READ);
      }
    }
    for (ReceiveRequest r; (r = receiveQueue.poll()) != null; ) flushed(r.wrId(), Opcode.RECEIVE);
  }

  /** Marks a work request done; completions go out in posting order (verbs send queue semantics). */
  private void finish(SqEntry e, Status status, String detail) {
    if (e.done) return;
    e.done = true;
    e.status = status;
    e.detail = detail;
    drain();
  }

  private void drain() {
    while (!inFlight.isEmpty() && inFlight.peek().done) {
      SqEntry e = inFlight.poll();
      if (e.status != Status.SUCCESS) {
        completionHandler.handle(WorkCompletion.error(e.wrId, e.opcode, e.status, e.detail));
      } else if (e.signaled) {
        completionHandler.handle(WorkCompletion.success(e.wrId, e.opcode, e.length));
      }
    }
  }

  private void flushed(long wrId, Opcode opcode) {
    completionHandler.handle(WorkCompletion.error(wrId, opcode, Status.FLUSHED, "connection ended"));
  }

  // ------------------------------------------------------------------ posting

  @Override
  public void postReceive(ReceiveRequest r) {
    checkContext();
    if (r.offset() < 0 || r.length() < 0 || (long) r.offset() + r.length() > r.region().length()) {
      throw new IllegalArgumentException("receive buffer " + r.offset() + "+" + r.length() + " outside " + r.region());
    }
    if (ended) {
      flushed(r.wrId(), Opcode.RECEIVE);
      return;
    }
    if (receiveQueue.size() + (currentReceive == null ? 0 : 1) >= options.receiveQueueDepth()) {
      throw new IllegalStateException("receive queue full (" + options.receiveQueueDepth() + ")");
    }
    receiveQueue.add(r);
  }

  @Override
  public void postSend(SendRequest r) {
    post(r, r.wrId(), Opcode.SEND, r.payload());
  }

  @Override
  public void postWrite(WriteRequest r) {
    post(r, r.wrId(), Opcode.RDMA_WRITE, r.source());
  }

  @Override
  public void postRead(ReadRequest r) {
    if (r.length() < 0) throw new IllegalArgumentException("read length " + r.length() + " is negative");
    post(r, r.wrId(), Opcode.RDMA_READ, null);
  }

  private void post(Object wr, long wrId, Opcode opcode, ByteBuf owned) {
    try {
      checkContext();
      if (!ended && sendQueue.size() + inFlight.size() >= options.sendQueueDepth()) {
        throw new IllegalStateException("send queue full (" + options.sendQueueDepth() + ")");
      }
    } catch (RuntimeException e) {
      ReferenceCountUtil.release(owned);
      throw e;
    }
    if (ended) {
      ReferenceCountUtil.release(owned);
      flushed(wrId, opcode);
      return;
    }
    sendQueue.add(wr);
    pump();
  }

  /** Puts waiting work requests on the wire, in order, as far as ORD and MPA startup allow. */
  private void pump() {
    while (state == State.ESTABLISHED && !transmitHeld && !sendQueue.isEmpty()) {
      Object wr = sendQueue.peek();
      if (wr instanceof ReadRequest r && ord == 0) {
        // The peer announced IRD 0 (RFC 6581 §5): it accepts no RDMA Read at all.
        sendQueue.poll();
        SqEntry e = new SqEntry(r.wrId(), Opcode.RDMA_READ, r.signaled(), 0);
        inFlight.add(e);
        finish(e, Status.REMOTE_OPERATION_ERROR, "the peer accepts no RDMA Reads (IRD 0)");
        continue;
      }
      if (wr instanceof ReadRequest && outstandingReads.size() >= ord) return;
      sendQueue.poll();
      if (wr instanceof SendRequest s) issueSend(s);
      else if (wr instanceof WriteRequest w) issueWrite(w);
      else issueRead((ReadRequest) wr);
    }
  }

  private void issueSend(SendRequest r) {
    int opcode = r.invalidate() ? (r.solicitedEvent() ? DdpSegment.SEND_SE_INVALIDATE : DdpSegment.SEND_INVALIDATE)
        : (r.solicitedEvent() ? DdpSegment.SEND_SE : DdpSegment.SEND);
    // RFC 5041 §5.1: MSN per untagged queue, starting at 1; every segment of a message carries it.
    int msn = ++sendMsn;
    int rsvd = r.invalidate() ? r.invalidateStag() : 0;
    int max = iw.mulpdu() - DdpSegment.UNTAGGED_HEADER_LENGTH;
    ByteBuf payload = r.payload();
    int length = payload.readableBytes();
    Future<Void> last = null;
    int mo = 0;
    do {
      int n = Math.min(max, length - mo);
      ByteBuf slice = payload.retainedSlice(payload.readerIndex() + mo, n);
      last = write(DdpSegment.untagged(opcode, mo + n == length, rsvd, DdpSegment.QN_SEND, msn, mo, slice));
      mo += n;
    } while (mo < length);
    payload.release();
    completeOnWrite(last, new SqEntry(r.wrId(), Opcode.SEND, r.signaled(), length));
  }

  private void issueWrite(WriteRequest r) {
    int max = iw.mulpdu() - DdpSegment.TAGGED_HEADER_LENGTH;
    ByteBuf source = r.source();
    int length = source.readableBytes();
    Future<Void> last = null;
    int off = 0;
    do {
      int n = Math.min(max, length - off);
      ByteBuf slice = source.retainedSlice(source.readerIndex() + off, n);
      last = write(DdpSegment.tagged(DdpSegment.RDMA_WRITE, off + n == length, r.remoteStag(),
          r.remoteOffset() + off, slice));
      off += n;
    } while (off < length);
    source.release();
    completeOnWrite(last, new SqEntry(r.wrId(), Opcode.RDMA_WRITE, r.signaled(), length));
  }

  private void completeOnWrite(Future<Void> written, SqEntry entry) {
    inFlight.add(entry);
    // RFC 5040 §5.1/§5.3: a Send or Write completes locally once the LLP has the whole message.
    written.onComplete(ar -> {
      finish(entry, ar.succeeded() ? Status.SUCCESS : Status.FLUSHED, ar.succeeded() ? null : ar.cause().toString());
      pump();
    });
  }

  private void issueRead(ReadRequest r) {
    if (!(r.sink() instanceof SoftMemoryRegion sink) || sink.pd() != pd || !sink.isValid()
        || !sink.access().contains(Access.LOCAL_WRITE) || r.sinkOffset() < 0
        || (long) r.sinkOffset() + r.length() > sink.length()) {
      SqEntry e = new SqEntry(r.wrId(), Opcode.RDMA_READ, r.signaled(), 0);
      inFlight.add(e);
      finish(e, Status.LOCAL_PROTECTION_ERROR,
          "read sink " + r.sink() + " at " + r.sinkOffset() + "+" + r.length() + " is not writable");
      return;
    }
    long sinkTo = sink.address() + r.sinkOffset();
    SqEntry entry = new SqEntry(r.wrId(), Opcode.RDMA_READ, r.signaled(), r.length());
    inFlight.add(entry);
    outstandingReads.add(new PendingRead(r, entry, sinkTo));
    maxReadsOnWire = Math.max(maxReadsOnWire, outstandingReads.size());
    // RFC 5040 §4.4: Data Sink STag/TO, size, Data Source STag/TO, on untagged queue 1.
    ByteBuf body = alloc().directBuffer(DdpSegment.READ_REQUEST_LENGTH);
    body.writeInt(sink.stag()).writeLong(sinkTo).writeInt(r.length()).writeInt(r.remoteStag())
        .writeLong(r.remoteOffset());
    write(DdpSegment.untagged(DdpSegment.READ_REQUEST, true, 0, DdpSegment.QN_READ_REQUEST, ++readMsn, 0, body));
  }

  /** Frames and writes a segment; the last segment of a message flushes. */
  private Future<Void> write(DdpSegment segment) {
    return writeRaw(Fpdu.encode(alloc(), segment, decoder.crc()), segment.last());
  }

  /**
   * Writes straight into the channel below Vert.x: Netty's outbound buffer keeps the order and
   * releases whatever is still queued when the channel closes.
   */
  private Future<Void> writeRaw(ByteBuf frame, boolean flush) {
    io.vertx.core.internal.PromiseInternal<Void> p = context.promise();
    io.netty.channel.ChannelHandlerContext ctx = socket.channelHandlerContext();
    (flush ? ctx.writeAndFlush(frame) : ctx.write(frame)).addListener(p);
    lastWrite = p.future();
    return lastWrite;
  }

  // ------------------------------------------------------------------ receiving

  private void segment(DdpSegment seg) {
    if (state != State.ESTABLISHED) {
      // RFC 5044 §7.1: no FPDU before the MPA exchange is complete.
      end(ConnectionEvent.Type.ERROR, null, "FPDU before MPA negotiation completed");
      return;
    }
    if (transmitHeld) {
      transmitHeld = false;
      if (expectRtr) {
        expectRtr = false;
        if (seg.tagged() && seg.opcode() == DdpSegment.RDMA_WRITE && seg.last()
            && seg.payload().readableBytes() == 0) {
          pump();
          return; // RFC 6581 §6: the RTR places nothing.
        }
        terminate(TerminateInfo.LAYER_LLP, TerminateInfo.LLP_MPA, TerminateInfo.LLP_NO_MATCHING_RTR, seg,
            "first FPDU is not the agreed zero-length RDMA Write RTR");
        return;
      }
      pump();
    }
    if (seg.tagged()) {
      switch (seg.opcode()) {
        case DdpSegment.RDMA_WRITE -> placeWrite(seg);
        case DdpSegment.READ_RESPONSE -> placeReadResponse(seg);
        default -> terminate(TerminateInfo.LAYER_RDMAP, TerminateInfo.RDMAP_REMOTE_OPERATION,
            TerminateInfo.RDMAP_UNEXPECTED_OPCODE, seg, "opcode " + seg.opcode() + " in a tagged segment");
      }
      return;
    }
    int op = seg.opcode();
    if (op == DdpSegment.RDMA_WRITE || op == DdpSegment.READ_RESPONSE) {
      terminate(TerminateInfo.LAYER_RDMAP, TerminateInfo.RDMAP_REMOTE_OPERATION, TerminateInfo.RDMAP_UNEXPECTED_OPCODE,
          seg, "opcode " + op + " in an untagged segment");
      return;
    }
    int expectedQueue = op == DdpSegment.READ_REQUEST ? DdpSegment.QN_READ_REQUEST
        : op == DdpSegment.TERMINATE ? DdpSegment.QN_TERMINATE : DdpSegment.QN_SEND;
    if (seg.queue() != expectedQueue) {
      terminate(TerminateInfo.LAYER_DDP, TerminateInfo.DDP_UNTAGGED_BUFFER, TerminateInfo.DDP_UNTAGGED_INVALID_QN, seg,
          "queue " + seg.queue() + " for opcode " + op);
      return;
    }
    switch (expectedQueue) {
      case DdpSegment.QN_SEND -> receiveSend(seg);
      case DdpSegment.QN_READ_REQUEST -> readRequest(seg);
      default -> peerTerminated(seg);
    }
  }

  /**
   * The region a peer names, checked as RFC 5041 §7.2 and RFC 5040 §7.4 require.
   *
   * @return the pinned buffer at the region's index 0 with the offset in {@code out[0]}, or null
   *     after a Terminate was sent
   */
  private SoftMemoryRegion checkRemoteAccess(DdpSegment seg, int layer, int stag, long to, long length,
      Access right, long[] offset) {
    boolean ddp = layer == TerminateInfo.LAYER_DDP;
    int type = ddp ? TerminateInfo.DDP_TAGGED_BUFFER : TerminateInfo.RDMAP_REMOTE_PROTECTION;
    SoftMemoryRegion mr = device.lookup(stag);
    if (mr == null || !mr.isValid()) {
      terminate(layer, type, ddp ? TerminateInfo.DDP_TAGGED_INVALID_STAG : TerminateInfo.RDMAP_INVALID_STAG, seg,
          "STag 0x" + Integer.toHexString(stag) + " is not valid");
      return null;
    }
    if (mr.pd() != pd) {
      terminate(layer, type, ddp ? TerminateInfo.DDP_TAGGED_STAG_NOT_ASSOCIATED : TerminateInfo.RDMAP_STAG_NOT_ASSOCIATED,
          seg, "STag 0x" + Integer.toHexString(stag) + " belongs to another protection domain");
      return null;
    }
    if (!mr.access().contains(right)) {
      terminate(TerminateInfo.LAYER_RDMAP, TerminateInfo.RDMAP_REMOTE_PROTECTION, TerminateInfo.RDMAP_ACCESS_RIGHTS,
          seg, "STag 0x" + Integer.toHexString(stag) + " does not allow " + right);
      return null;
    }
    if (length < 0 || Long.compareUnsigned(to + length, to) < 0) {
      terminate(layer, type, ddp ? TerminateInfo.DDP_TAGGED_TO_WRAP : TerminateInfo.RDMAP_TO_WRAP, seg,
          "tagged offset 0x" + Long.toHexString(to) + " + " + length + " wraps");
      return null;
    }
    long off = to - mr.address();
    if (Long.compareUnsigned(to, mr.address()) < 0 || off > mr.length() - length) {
      terminate(layer, type, ddp ? TerminateInfo.DDP_TAGGED_BASE_BOUNDS : TerminateInfo.RDMAP_BASE_BOUNDS, seg,
          "tagged offset 0x" + Long.toHexString(to) + " + " + length + " is outside " + mr);
      return null;
    }
    offset[0] = off;
    return mr;
  }

  /** RFC 5040 §5.1: place an RDMA Write segment, after every check passed. */
  private void placeWrite(DdpSegment seg) {
    ByteBuf payload = seg.payload();
    int length = payload.readableBytes();
    long[] off = new long[1];
    SoftMemoryRegion mr = checkRemoteAccess(seg, TerminateInfo.LAYER_DDP, seg.stag(), seg.taggedOffset(), length,
        Access.REMOTE_WRITE, off);
    if (mr == null) return;
    ByteBuf target = mr.acquire();
    if (target == null) {
      terminate(TerminateInfo.LAYER_DDP, TerminateInfo.DDP_TAGGED_BUFFER, TerminateInfo.DDP_TAGGED_INVALID_STAG, seg,
          "STag 0x" + Integer.toHexString(seg.stag()) + " was invalidated");
      return;
    }
    try {
      target.setBytes((int) off[0], payload, payload.readerIndex(), length);
    } finally {
      target.release();
    }
  }

  /** RFC 5040 §5.2: a Read Response must match, byte for byte, the Read at the head of our queue. */
  private void placeReadResponse(DdpSegment seg) {
    PendingRead head = outstandingReads.peek();
    ByteBuf payload = seg.payload();
    int length = payload.readableBytes();
    if (head == null) {
      terminate(TerminateInfo.LAYER_RDMAP, TerminateInfo.RDMAP_REMOTE_OPERATION, TerminateInfo.RDMAP_UNEXPECTED_OPCODE,
          seg, "Read Response without an outstanding Read");
      return;
    }
    ReadRequest r = head.request;
    if (seg.stag() != r.sink().stag()) {
      terminate(TerminateInfo.LAYER_DDP, TerminateInfo.DDP_TAGGED_BUFFER, TerminateInfo.DDP_TAGGED_INVALID_STAG, seg,
          "Read Response to STag 0x" + Integer.toHexString(seg.stag()) + ", expected 0x"
              + Integer.toHexString(r.sink().stag()));
      return;
    }
    if (seg.taggedOffset() != head.sinkOffset + head.received || length > r.length() - head.received
        || (seg.last() && head.received + length != r.length())) {
      terminate(TerminateInfo.LAYER_DDP, TerminateInfo.DDP_TAGGED_BUFFER, TerminateInfo.DDP_TAGGED_BASE_BOUNDS, seg,
          "Read Response segment at 0x" + Long.toHexString(seg.taggedOffset()) + "+" + length
              + " does not continue the Read of " + r.length() + " bytes");
      return;
    }
    if (length > 0) {
      ByteBuf target = ((SoftMemoryRegion) r.sink()).acquire();
      if (target == null) {
        terminate(TerminateInfo.LAYER_DDP, TerminateInfo.DDP_TAGGED_BUFFER, TerminateInfo.DDP_TAGGED_INVALID_STAG, seg,
            "the Read's sink region was invalidated");
        return;
      }
      try {
        target.setBytes(r.sinkOffset() + head.received, payload, payload.readerIndex(), length);
      } finally {
        target.release();
      }
      head.received += length;
    }
    if (seg.last()) {
      outstandingReads.poll();
      finish(head.entry, Status.SUCCESS, null);
      pump();
    }
  }

  /** RFC 5041 §5.3 / RFC 5040 §5.3: a Send segment fills the next posted receive, in MSN and MO order. */
  private void receiveSend(DdpSegment seg) {
    if (seg.msn() != expectedSendMsn) {
      terminate(TerminateInfo.LAYER_DDP, TerminateInfo.DDP_UNTAGGED_BUFFER,
          TerminateInfo.DDP_UNTAGGED_INVALID_MSN_RANGE, seg, "MSN " + seg.msn() + ", expected " + expectedSendMsn);
      return;
    }
    if (currentReceive == null) {
      if (seg.messageOffset() != 0) {
        terminate(TerminateInfo.LAYER_DDP, TerminateInfo.DDP_UNTAGGED_BUFFER, TerminateInfo.DDP_UNTAGGED_INVALID_MO,
            seg, "message offset " + seg.messageOffset() + " at the start of a message");
        return;
      }
      currentReceive = receiveQueue.poll();
      currentReceiveBytes = 0;
      if (currentReceive == null) {
        terminate(TerminateInfo.LAYER_DDP, TerminateInfo.DDP_UNTAGGED_BUFFER, TerminateInfo.DDP_UNTAGGED_NO_BUFFER,
            seg, "Send with no receive buffer posted");
        return;
      }
    } else if (seg.messageOffset() != currentReceiveBytes) {
      terminate(TerminateInfo.LAYER_DDP, TerminateInfo.DDP_UNTAGGED_BUFFER, TerminateInfo.DDP_UNTAGGED_INVALID_MO,
          seg, "message offset " + seg.messageOffset() + ", expected " + currentReceiveBytes);
      return;
    }
    ReceiveRequest r = currentReceive;
    ByteBuf payload = seg.payload();
    int length = payload.readableBytes();
    if ((long) currentReceiveBytes + length > r.length()) {
      currentReceive = null;
      completionHandler.handle(WorkCompletion.error(r.wrId(), Opcode.RECEIVE, Status.LOCAL_LENGTH_ERROR,
          "Send longer than the " + r.length() + "-byte receive buffer"));
      terminate(TerminateInfo.LAYER_DDP, TerminateInfo.DDP_UNTAGGED_BUFFER, TerminateInfo.DDP_UNTAGGED_MESSAGE_TOO_LONG,
          seg, "Send longer than the receive buffer (" + r.length() + " bytes)");
      return;
    }
    if (length > 0) {
      ByteBuf target = r.region() instanceof SoftMemoryRegion mr && mr.pd() == pd
          && mr.access().contains(Access.LOCAL_WRITE) ? mr.acquire() : null;
      if (target == null) {
        currentReceive = null;
        completionHandler.handle(WorkCompletion.error(r.wrId(), Opcode.RECEIVE, Status.LOCAL_PROTECTION_ERROR,
            "receive buffer " + r.region() + " is not writable"));
        terminate(TerminateInfo.LAYER_RDMAP, TerminateInfo.RDMAP_REMOTE_OPERATION,
            TerminateInfo.RDMAP_CATASTROPHIC_STREAM, null, "receive buffer not writable");
        return;
      }
      try {
        target.setBytes(r.offset() + currentReceiveBytes, payload, payload.readerIndex(), length);
      } finally {
        target.release();
      }
      currentReceiveBytes += length;
    }
    if (!seg.last()) return;
    expectedSendMsn++;
    currentReceive = null;
    int op = seg.opcode();
    boolean solicited = op == DdpSegment.SEND_SE || op == DdpSegment.SEND_SE_INVALIDATE;
    boolean invalidate = op == DdpSegment.SEND_INVALIDATE || op == DdpSegment.SEND_SE_INVALIDATE;
    if (invalidate) {
      // RFC 5040 §5.3: invalidate before the receive completes, so the ULP never sees a live STag.
      SoftMemoryRegion mr = device.lookup(seg.rsvdUlp());
      boolean known = mr != null && mr.pd() == pd;
      if (!known || !mr.remoteInvalidate()) {
        completionHandler.handle(WorkCompletion.error(r.wrId(), Opcode.RECEIVE, Status.REMOTE_INVALIDATE_ERROR,
            "cannot invalidate STag 0x" + Integer.toHexString(seg.rsvdUlp())));
        terminate(TerminateInfo.LAYER_RDMAP,
            known ? TerminateInfo.RDMAP_REMOTE_PROTECTION : TerminateInfo.RDMAP_REMOTE_OPERATION,
            TerminateInfo.RDMAP_CANNOT_INVALIDATE, seg, "cannot invalidate STag 0x" + Integer.toHexString(seg.rsvdUlp()));
        return;
      }
    }
    completionHandler.handle(new WorkCompletion(r.wrId(), Opcode.RECEIVE, Status.SUCCESS, currentReceiveBytes,
        solicited, invalidate, invalidate ? seg.rsvdUlp() : 0, null));
  }

  /** RFC 5040 §5.2: answer an RDMA Read Request from a registered region, within IRD. */
  private void readRequest(DdpSegment seg) {
    ByteBuf body = seg.payload();
    if (seg.msn() != expectedReadMsn) {
      terminate(TerminateInfo.LAYER_DDP, TerminateInfo.DDP_UNTAGGED_BUFFER,
          TerminateInfo.DDP_UNTAGGED_INVALID_MSN_RANGE, seg, "Read Request MSN " + seg.msn() + ", expected "
              + expectedReadMsn);
      return;
    }
    if (!seg.last() || seg.messageOffset() != 0 || body.readableBytes() != DdpSegment.READ_REQUEST_LENGTH) {
      terminate(TerminateInfo.LAYER_DDP, TerminateInfo.DDP_UNTAGGED_BUFFER, TerminateInfo.DDP_UNTAGGED_INVALID_MO,
          seg, "Read Request is not one " + DdpSegment.READ_REQUEST_LENGTH + "-byte segment");
      return;
    }
    expectedReadMsn++;
    // RFC 5040 §6.5 / RFC 5041 §5.3: queue 1 holds IRD buffers; one more Read is "no buffer".
    if (inboundReads >= ird) {
      terminate(TerminateInfo.LAYER_DDP, TerminateInfo.DDP_UNTAGGED_BUFFER, TerminateInfo.DDP_UNTAGGED_NO_BUFFER, seg,
          "more than IRD " + ird + " RDMA Read Requests outstanding");
      return;
    }
    int i = body.readerIndex();
    int sinkStag = body.getInt(i);
    long sinkTo = body.getLong(i + 4);
    long size = body.getUnsignedInt(i + 12);
    int sourceStag = body.getInt(i + 16);
    long sourceTo = body.getLong(i + 20);
    if (size == 0) {
      // A zero-length RDMA Read moves no data, so there is no source memory to check and none is
      // touched (RNICs skip the STag for it too); iSER posts one behind an RDMA Write to learn
      // that the Write was placed at the initiator (RDMAP orders it after the Write, RFC 5040 §5.5).
      inboundReads++;
      write(DdpSegment.tagged(DdpSegment.READ_RESPONSE, true, sinkStag, sinkTo, Unpooled.EMPTY_BUFFER))
          .onComplete(ar -> inboundReads--);
      return;
    }
    long[] off = new long[1];
    SoftMemoryRegion mr = checkRemoteAccess(seg, TerminateInfo.LAYER_RDMAP, sourceStag, sourceTo, size,
        Access.REMOTE_READ, off);
    if (mr == null) return;
    ByteBuf source = mr.acquire();
    if (source == null) {
      terminate(TerminateInfo.LAYER_RDMAP, TerminateInfo.RDMAP_REMOTE_PROTECTION, TerminateInfo.RDMAP_INVALID_STAG,
          seg, "STag 0x" + Integer.toHexString(sourceStag) + " was invalidated");
      return;
    }
    inboundReads++;
    int max = iw.mulpdu() - DdpSegment.TAGGED_HEADER_LENGTH;
    int length = (int) size;
    Future<Void> last = null;
    try {
      int done = 0;
      do {
        int n = Math.min(max, length - done);
        // Zero copy: each Read Response segment is a slice of the registered buffer.
        ByteBuf slice = source.retainedSlice((int) off[0] + done, n);
        last = write(DdpSegment.tagged(DdpSegment.READ_RESPONSE, done + n == length, sinkStag, sinkTo + done, slice));
        done += n;
      } while (done < length);
    } finally {
      source.release();
    }
    last.onComplete(ar -> inboundReads--);
  }

  /** RFC 5040 §4.8: the peer terminated the stream. */
  private void peerTerminated(DdpSegment seg) {
    ByteBuf body = seg.payload();
    TerminateInfo info;
    if (body.readableBytes() >= 4) {
      int control = body.getInt(body.readerIndex());
      info = new TerminateInfo(control >>> 28, (control >>> 24) & 0xf, (control >>> 16) & 0xff, false);
    } else {
      info = new TerminateInfo(TerminateInfo.LAYER_RDMAP, TerminateInfo.RDMAP_CATASTROPHIC,
          TerminateInfo.RDMAP_UNSPECIFIED, false);
    }
    log.warn("iWARP connection {}: {}", remoteAddress(), info);
    end(ConnectionEvent.Type.TERMINATED, info, info.toString());
  }

  /**
   * Sends a Terminate (RFC 5040 §4.8) and ends the stream. With the offending segment it carries
   * the DDP segment length and header (M, D) and, for a Read Request, its RDMAP header (R).
   */
  private void terminate(int layer, int type, int code, DdpSegment offending, String reason) {
    if (ended) return;
    TerminateInfo info = new TerminateInfo(layer, type, code, true);
    log.warn("iWARP connection {}: {}: {}", remoteAddress(), info, reason);
    if (socket != null && state == State.ESTABLISHED) {
      boolean withHeaders = offending != null;
      boolean withRdmap = withHeaders && offending.opcode() == DdpSegment.READ_REQUEST
          && offending.payload().readableBytes() == DdpSegment.READ_REQUEST_LENGTH;
      int control = (layer & 0xf) << 28 | (type & 0xf) << 24 | (code & 0xff) << 16
          | (withHeaders ? 0x8000 | 0x4000 : 0) | (withRdmap ? 0x2000 : 0);
      ByteBuf body = alloc().directBuffer(64);
      body.writeInt(control);
      if (withHeaders) {
        body.writeShort(offending.headerLength() - 2 + offending.payload().readableBytes());
        offending.writeHeader(body);
        if (withRdmap) body.writeBytes(offending.payload(), offending.payload().readerIndex(),
            DdpSegment.READ_REQUEST_LENGTH);
      }
      // RFC 5040 §4.8: Terminate goes on untagged queue 2, MSN 1, in one segment.
      write(DdpSegment.untagged(DdpSegment.TERMINATE, true, 0, DdpSegment.QN_TERMINATE, 1, 0, body));
    }
    end(ConnectionEvent.Type.TERMINATED, info, reason);
  }

  // ------------------------------------------------------------------ the passive side's request

  private final class Request implements ConnectionRequest {

    private final MpaFrame frame;
    private final Buffer privateData;

    Request(MpaFrame frame) {
      this.frame = frame;
      this.privateData = Buffer.buffer(frame.ulpPrivateData());
    }

    @Override
    public Context context() {
      return context;
    }

    @Override
    public SocketAddress remoteAddress() {
      return socket.remoteAddress();
    }

    @Override
    public SocketAddress localAddress() {
      return socket.localAddress();
    }

    @Override
    public Buffer privateData() {
      return privateData;
    }

    @Override
    public int peerIrd() {
      return frame.enhanced() ? frame.irdWord() & MpaFrame.IRD_ORD_MASK : -1;
    }

    @Override
    public int peerOrd() {
      return frame.enhanced() ? frame.ordWord() & MpaFrame.IRD_ORD_MASK : -1;
    }

    @Override
    public RdmaConnection createConnection(ProtectionDomain domain, QueuePairOptions qp) {
      checkContext();
      if (IwarpConnection.this.pd != null) throw new IllegalStateException("connection already created");
      IwarpConnection.this.pd = IwarpDevice.soft(domain);
      IwarpConnection.this.options = new QueuePairOptions(qp);
      peerPrivateData = privateData;
      return IwarpConnection.this;
    }

    @Override
    public Future<RdmaConnection> accept(Buffer data) {
      return IwarpConnection.this.accept(this, data);
    }

    @Override
    public Future<Void> reject(Buffer data) {
      return IwarpConnection.this.reject(this, data);
    }
  }
}
