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

  private final ContextInternal context;
  private final NetSocketInternal socket;
  private final CodecLimits limits;
  private final Promise<Throwable> closed;
  /**
   * Messages handed to Vert.x that have not reached the pipeline yet. Vert.x 5 queues a write it
   * cannot pass on at once and, when the connection closes first, fails it without releasing the
   * message; we still own those and release them (Netty releases what reached the pipeline).
   */
  private final Set<Object> unsent = Collections.newSetFromMap(new IdentityHashMap<>());
  private Handler<Pdu> observer;
  private FaultInjector faults = FaultInjector.NONE;
  private Listener listener;
  private Throwable closeReason;
  private boolean closing;

  private ConnectionImpl(ContextInternal context, NetSocketInternal socket, CodecLimits limits) {
    this.context = context;
    this.socket = socket;
    this.limits = limits;
    this.closed = context.promise();
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
    ConnectionImpl c = new ConnectionImpl(context, so, limits);
    // First outbound stop after Vert.x's handler: from here on the pipeline owns the message.
    pipeline.addBefore("handler", "iscsi-handoff", new ChannelOutboundHandlerAdapter() {
      @Override
      public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        c.unsent.remove(msg);
        ctx.write(msg, promise);
      }
    });
    so.messageHandler(c::onMessage);
    so.exceptionHandler(c::onException);
    so.closeHandler(v -> c.onSocketClosed());
    return c;
  }

  ContextInternal context() {
    return context;
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

  private void onMessage(Object msg) {
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

  private void onException(Throwable t) {
    log.debug("{}: socket error", this, t);
    closeWith(t);
  }

  private void onSocketClosed() {
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
    socket.close();
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
    if (faults != FaultInjector.NONE) {
      FaultInjector.Fault f = faults.onSend(pdu);
      if ((f == FaultInjector.Fault.HEADER_DIGEST && limits.headerDigest())
          || (f == FaultInjector.Fault.DATA_DIGEST && limits.dataDigest() && pdu.data().isReadable())) {
        return writeCorrupted(pdu, f);
      }
    }
    return writeOwned(pdu);
  }

  /** Writes a message we own; if Vert.x drops it without passing it to the pipeline, releases it. */
  private Future<Void> writeOwned(Object msg) {
    unsent.add(msg);
    return socket.writeMessage(msg).onFailure(err -> {
      if (unsent.remove(msg)) ReferenceCountUtil.release(msg);
    });
  }

  /**
   * Encodes as the pipeline would, then flips the lowest bit of the chosen digest (the last byte
   * of the header buffer or of the trailer, RFC 7143 §11.2), and writes the pieces as raw bytes.
   */
  private Future<Void> writeCorrupted(Pdu pdu, FaultInjector.Fault fault) {
    List<Object> parts = new ArrayList<>(3);
    try {
      PduEncoder.encode(socket.channelHandlerContext().alloc(), pdu, limits.headerDigest(), limits.dataDigest(),
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
      return socket.close().transform(ar -> closed.future().mapEmpty());
    });
  }

  @Override
  public SocketAddress localAddress() {
    return address(socket.localAddress());
  }

  @Override
  public SocketAddress remoteAddress() {
    return address(socket.remoteAddress());
  }

  private static SocketAddress address(io.vertx.core.net.SocketAddress a) {
    return a == null ? null : new InetSocketAddress(a.hostAddress(), a.port());
  }

  @Override
  public String toString() {
    return "iSCSI connection " + socket.localAddress() + " -> " + socket.remoteAddress();
  }
}
