package io.spindle.initiator.impl;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.util.ReferenceCountUtil;
import io.spindle.initiator.Connection;
import io.spindle.initiator.ConnectionClosedException;
import io.spindle.initiator.FaultInjector;
import io.spindle.iscsi.codec.CodecLimits;
import io.spindle.iscsi.codec.FramingError;
import io.spindle.iscsi.codec.PduDecoder;
import io.spindle.iscsi.codec.PduEncoder;
import io.spindle.iscsi.pdu.Pdu;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A NetSocket with {@link PduDecoder}/{@link PduEncoder} in its Netty pipeline, in front of
 * Vert.x's own handler (as vertx-pg-client installs its codec), so typed PDUs arrive through
 * {@code messageHandler} and leave through {@code writeMessage}. Received PDUs go to the
 * observer and then to the current {@link Listener} (login, then session), and are released here.
 */
public final class ConnectionImpl implements Connection {

  private static final Logger log = LoggerFactory.getLogger(ConnectionImpl.class);

  /** The protocol engine on top: called on the connection's context only. */
  interface Listener {
    /** Handles one received PDU; must not release it. Throwing closes the connection. */
    void onPdu(Pdu pdu);

    /** The connection is gone; fail everything pending with {@code cause}. */
    void onClosed(ConnectionClosedException cause);
  }

  /**
   * What carries the PDUs: a TCP socket with the iSCSI codec in its pipeline, or an iSER
   * connection over RDMA ({@link IserWire}). Called on the connection's context.
   */
  interface Wire {
    /** Writes a PDU (or raw bytes); ownership passes, also on failure. */
    Future<Void> write(Object msg);

    Future<Void> close();

    /**
     * Closes at once, discarding what is queued: TCP sends a reset (SO_LINGER 0), so a peer that
     * is only hung finds, when it runs again, neither our unsent PDUs nor the ones its kernel had
     * buffered for it, and no connection to act on. Wires without a reset just close.
     */
    default Future<Void> abort() {
      return close();
    }

    io.vertx.core.net.SocketAddress localAddress();

    io.vertx.core.net.SocketAddress remoteAddress();

    /** Whether {@link #write} takes encoded byte buffers (digest fault injection needs it). */
    default boolean byteStream() {
      return true;
    }

    /**
     * iSER: registers the buffers of a task whose SCSI Command or TASK REASSIGN is about to be sent,
     * for the STags in its iSER header (RFC 7145 §9.2, §7.3); TCP ignores it.
     *
     * @param unsolicited Data-Out bytes that travel without an R2T: those the command carries, 0
     *     for a reassigned task (the target asks for every byte it lacks with recovery R2Ts)
     */
    default void prepareTask(ScsiTask task, int unsolicited) {
    }

    /** iSER: the task is over; its buffers can be deregistered. */
    default void taskDone(int itt) {
    }
  }

  private final ContextInternal context;
  private Wire wire;
  private final CodecLimits limits;
  private final Promise<Throwable> closed;
  private Handler<Pdu> observer;
  private FaultInjector faults = FaultInjector.NONE;
  private Listener listener;
  private Throwable closeReason;
  private boolean closing;
  /** RFC 5046 iSER: turns the logged-in byte stream into an iSER connection; null for the other wires. */
  private java.util.function.Function<Boolean, Future<Void>> enableDatamover;

  ConnectionImpl(ContextInternal context, CodecLimits limits) {
    this.context = context;
    this.limits = limits;
    this.closed = context.promise();
  }

  /** Attaches the wire; done once, before any I/O. */
  void wire(Wire wire) {
    this.wire = wire;
  }

  /** Connects on {@code context}, so the socket and all later work stay on its event loop. */
  static Future<ConnectionImpl> connect(ContextInternal context, NetClient client, String host, int port) {
    Promise<ConnectionImpl> promise = context.promise();
    context.runOnContext(v -> client.connect(port, host).onComplete(ar -> {
      if (ar.failed()) {
        promise.fail(ar.cause());
        return;
      }
      try {
        promise.complete(install(context, ar.result()));
      } catch (RuntimeException e) {
        ar.result().close();
        promise.fail(e);
      }
    }));
    return promise.future();
  }

  private static ConnectionImpl install(ContextInternal context, NetSocket netSocket) {
    NetSocketInternal so = (NetSocketInternal) netSocket;
    CodecLimits limits = new CodecLimits();
    ChannelPipeline pipeline = so.channelHandlerContext().pipeline();
    pipeline.addBefore("handler", "iscsi-decoder", new PduDecoder(limits));
    pipeline.addBefore("handler", "iscsi-encoder", new PduEncoder(limits));
    ConnectionImpl c = new ConnectionImpl(context, limits);
    TcpWire w = new TcpWire(so);
    c.wire(w);
    // First outbound stop after Vert.x's handler: from here on the pipeline owns the message.
    pipeline.addBefore("handler", "iscsi-handoff", new ChannelOutboundHandlerAdapter() {
      @Override
      public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        w.unsent.remove(msg);
        ctx.write(msg, promise);
      }
    });
    so.messageHandler(c::onMessage);
    so.exceptionHandler(c::onException);
    so.closeHandler(v -> c.onSocketClosed());
    return c;
  }

  /** iSCSI/TCP: PDUs through the codec in the socket's pipeline. */
  private static final class TcpWire implements Wire {
    final NetSocketInternal socket;
    /**
     * Messages handed to Vert.x that have not reached the pipeline yet. Vert.x 5 queues a write it
     * cannot pass on at once and, when the connection closes first, fails it without releasing the
     * message; we still own those and release them (Netty releases what reached the pipeline).
     */
    final Set<Object> unsent = Collections.newSetFromMap(new IdentityHashMap<>());

    TcpWire(NetSocketInternal socket) {
      this.socket = socket;
    }

    @Override
    public Future<Void> write(Object msg) {
      unsent.add(msg);
      return socket.writeMessage(msg).onFailure(err -> {
        if (unsent.remove(msg)) ReferenceCountUtil.release(msg);
      });
    }

    @Override
    public Future<Void> close() {
      return socket.close();
    }

    @Override
    public Future<Void> abort() {
      // A graceful close of a connection whose peer stopped reading leaves the FIN behind the
      // unsent data (zero window): the peer's side stays ESTABLISHED with our stale PDUs queued.
      socket.channelHandlerContext().channel().config().setOption(io.netty.channel.ChannelOption.SO_LINGER, 0);
      return socket.close();
    }

    @Override
    public io.vertx.core.net.SocketAddress localAddress() {
      return socket.localAddress();
    }

    @Override
    public io.vertx.core.net.SocketAddress remoteAddress() {
      return socket.remoteAddress();
    }
  }

  ContextInternal context() {
    return context;
  }

  /** Sets what {@link #enableDatamover} does (RFC 5046 style iSER). */
  void onEnableDatamover(java.util.function.Function<Boolean, Future<Void>> step) {
    this.enableDatamover = step;
  }

  /**
   * Enable_Datamover on the initiator (RFC 5047 §3.2.7), called by the login once the final Login
   * Response arrived: nothing for iSCSI/TCP and RFC 7145 iSER; for RFC 5046 iSER the move to MPA and
   * the Hello exchange, which must succeed before the session may use the connection.
   *
   * @param rdmaExtensions the login's RDMAExtensions outcome
   */
  Future<Void> enableDatamover(boolean rdmaExtensions) {
    if (enableDatamover == null) return Future.succeededFuture();
    return enableDatamover.apply(rdmaExtensions);
  }

  /** The socket under the iSCSI/TCP codec; only while the wire is the byte stream. */
  NetSocketInternal byteStreamSocket() {
    if (!(wire instanceof TcpWire t)) throw new IllegalStateException("not a byte-stream connection");
    return t.socket;
  }

  /**
   * Takes the iSCSI/TCP codec out of the socket's pipeline (RFC 5046: after the final Login Response
   * the stream carries MPA). Call after the RDMA provider put its decoder in, so buffered bytes reach it.
   */
  void removeByteStreamCodec() {
    ChannelPipeline pipeline = byteStreamSocket().channelHandlerContext().pipeline();
    pipeline.remove("iscsi-handoff");
    pipeline.remove("iscsi-encoder");
    pipeline.remove("iscsi-decoder");
  }

  CodecLimits limits() {
    return limits;
  }

  void listener(Listener listener) {
    assert context.isRunningOnContext();
    this.listener = listener;
  }

  /** Runs {@code action} on the connection's context (at once when already there). */
  <T> Future<T> onContext(Supplier<Future<T>> action) {
    if (context.isRunningOnContext()) return guarded(action);
    Promise<T> p = context.promise();
    context.runOnContext(v -> guarded(action).onComplete(p));
    return p.future();
  }

  private static <T> Future<T> guarded(Supplier<Future<T>> action) {
    try {
      return action.get();
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
  }

  void onMessage(Object msg) {
    if (msg instanceof FramingError fe) {
      fail("cannot frame the target's byte stream: " + fe.reason());
      return;
    }
    if (!(msg instanceof Pdu pdu)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    try {
      if (closing) return;
      if (observer != null) observer.handle(pdu);
      if (listener != null) listener.onPdu(pdu);
    } catch (RuntimeException e) {
      log.warn("{}: closing after error handling {}", this, pdu, e);
      closeWith(e);
    } finally {
      pdu.release();
    }
  }

  void onException(Throwable t) {
    log.debug("{}: socket error", this, t);
    closeWith(t);
  }

  void onSocketClosed() {
    closing = true;
    Throwable reason = closeReason;
    ConnectionClosedException cause = new ConnectionClosedException("connection to " + remoteAddress() + " closed"
        + (reason == null ? "" : ": " + reason.getMessage()), reason);
    Listener l = listener;
    listener = null;
    if (l != null) {
      try {
        l.onClosed(cause);
      } catch (RuntimeException e) {
        log.warn("{}: error failing pending requests", this, e);
      }
    }
    closed.tryComplete(reason);
  }

  /** Closes the connection because of a protocol problem; the reason reaches every pending request. */
  void fail(String reason) {
    log.warn("{}: {}", this, reason);
    closeWith(new IllegalStateException(reason));
  }

  void closeWith(Throwable reason) {
    if (closeReason == null) closeReason = reason;
    closing = true;
    wire.close();
  }

  /** Like {@link #closeWith}, with a TCP reset: for a peer that stopped answering (see {@link Wire#abort}). */
  void abortWith(Throwable reason) {
    if (closeReason == null) closeReason = reason;
    closing = true;
    wire.abort();
  }

  /** Faults to apply to what {@link #write} sends from now on (full feature phase). */
  void faults(FaultInjector faults) {
    this.faults = faults;
  }

  /** Writes a PDU; ownership passes. Called on the context. */
  Future<Void> write(Pdu pdu) {
    if (closing) {
      pdu.release();
      return Future.failedFuture(new ConnectionClosedException("connection is closing", closeReason));
    }
    if (faults != FaultInjector.NONE && wire.byteStream()) {
      FaultInjector.Fault f = faults.onSend(pdu);
      if ((f == FaultInjector.Fault.HEADER_DIGEST && limits.headerDigest())
          || (f == FaultInjector.Fault.DATA_DIGEST && limits.dataDigest() && pdu.data().isReadable())) {
        return writeCorrupted(pdu, f);
      }
    }
    return writeOwned(pdu);
  }

  private Future<Void> writeOwned(Object msg) {
    return wire.write(msg);
  }

  /** iSER: the buffers of a task about to be sent; see {@link Wire#prepareTask}. */
  void prepareTask(ScsiTask task, int unsolicited) {
    wire.prepareTask(task, unsolicited);
  }

  void taskDone(int itt) {
    wire.taskDone(itt);
  }

  /**
   * Encodes as the pipeline would, then flips the lowest bit of the chosen digest (the last byte
   * of the header buffer or of the trailer, RFC 7143 §11.2), and writes the pieces as raw bytes.
   */
  private Future<Void> writeCorrupted(Pdu pdu, FaultInjector.Fault fault) {
    List<Object> parts = new ArrayList<>(3);
    try {
      PduEncoder.encode(io.netty.buffer.PooledByteBufAllocator.DEFAULT, pdu, limits.headerDigest(), limits.dataDigest(),
          parts);
    } finally {
      pdu.release();
    }
    ByteBuf victim = (ByteBuf) (fault == FaultInjector.Fault.HEADER_DIGEST ? parts.get(0) : parts.get(parts.size() - 1));
    int at = victim.writerIndex() - 1;
    victim.setByte(at, victim.getByte(at) ^ 0x01);
    Future<Void> last = null;
    for (Object part : parts) last = writeOwned(part);
    return last;
  }

  @Override
  public Future<Void> sendRaw(ByteBuf bytes) {
    return onContext(() -> {
      if (closing) {
        bytes.release();
        return Future.failedFuture(new ConnectionClosedException("connection is closing", closeReason));
      }
      return writeOwned(bytes);
    });
  }

  @Override
  public Future<Void> send(Pdu pdu) {
    return onContext(() -> write(pdu));
  }

  @Override
  public Connection pduHandler(Handler<Pdu> handler) {
    onContext(() -> {
      observer = handler;
      return Future.succeededFuture();
    });
    return this;
  }

  @Override
  public Future<Throwable> closeFuture() {
    return closed.future();
  }

  @Override
  public boolean isClosed() {
    return closed.future().isComplete();
  }

  @Override
  public Future<Void> close() {
    return onContext(() -> {
      closing = true;
      return wire.close().transform(ar -> closed.future().mapEmpty());
    });
  }

  @Override
  public SocketAddress localAddress() {
    return address(wire.localAddress());
  }

  @Override
  public SocketAddress remoteAddress() {
    return address(wire.remoteAddress());
  }

  private static SocketAddress address(io.vertx.core.net.SocketAddress a) {
    return a == null ? null : new InetSocketAddress(a.hostAddress(), a.port());
  }

  @Override
  public String toString() {
    return "iSCSI connection " + wire.localAddress() + " -> " + wire.remoteAddress();
  }
}
