package io.spindle.transport.tcp;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.VoidChannelPromise;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.spindle.iscsi.codec.CodecLimits;
import io.spindle.iscsi.codec.DiscardedPdu;
import io.spindle.iscsi.codec.FramingError;
import io.spindle.iscsi.codec.OutboundBudget;
import io.spindle.iscsi.codec.PduDecoder;
import io.spindle.iscsi.codec.PduEncoder;
import io.spindle.iscsi.datamover.DatamoverConnection;
import io.spindle.iscsi.datamover.DatamoverKeys;
import io.spindle.iscsi.datamover.DatamoverListener;
import io.spindle.iscsi.datamover.OutboundLimit;
import io.spindle.iscsi.pdu.DataInPdu;
import io.spindle.iscsi.pdu.Pdu;
import io.spindle.iscsi.pdu.R2tPdu;
import io.spindle.iscsi.pdu.TargetPdu;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.PromiseInternal;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.SocketAddress;
import io.netty.util.ReferenceCountUtil;

/**
 * iSCSI/TCP datamover of one connection: the PDU codec sits in the socket's Netty pipeline, so
 * the iSCSI layer sends and receives typed PDUs. Put_Data and Get_Data are plain PDU writes.
 *
 * <p>PDUs are written on the channel directly (not through the Vert.x socket's write queue), and
 * flushed by a {@link FlushConsolidationHandler}: responses produced while a read batch is being
 * handled, or by several tasks of one event-loop turn, leave in one system call. TCP_NODELAY
 * stays on, so nothing waits for more data.
 *
 * <p>What the channel holds unsent is bounded by an {@link OutboundBudget}: over the iSCSI layer's
 * {@link OutboundLimit} the socket stops reading, and a peer that stays over it is closed.
 */
final class TcpDatamoverConnection implements DatamoverConnection {

  /** Flushes pending writes at least every so many flush requests, even inside a long read batch. */
  private static final int FLUSH_AT_MOST_EVERY = 64;
  private final NetSocketInternal socket;
  private final ChannelHandlerContext channel;
  /** For writes whose outcome nobody reads ({@link #post}): no promise object, no failure event. */
  private final ChannelPromise unobserved;
  private final Context context;
  private final CodecLimits limits = new CodecLimits();
  private DatamoverListener listener;
  private DatamoverKeys pendingKeys;
  private boolean terminated;
  private final OutboundBudget budget;

  TcpDatamoverConnection(NetSocketInternal socket) {
    this.socket = socket;
    this.context = io.vertx.core.Vertx.currentContext();
    this.channel = socket.channelHandlerContext();
    this.unobserved = new VoidChannelPromise(channel.channel(), false);
    ChannelPipeline pipeline = channel.pipeline();
    budget = new OutboundBudget(String.valueOf(socket.remoteAddress()), new OutboundBudget.Owner() {
      @Override
      public void readingPaused(boolean paused) {
        // On the channel itself: Vert.x's pause() keeps reading into its own queue for a while.
        channel.channel().config().setAutoRead(!paused);
      }

      @Override
      public void stalled(String reason) {
        terminated(reason);
      }
    });
    pipeline.addFirst("outbound-budget", budget);
    pipeline.addFirst("flush-consolidation", new FlushConsolidationHandler(FLUSH_AT_MOST_EVERY, true));
    pipeline.addBefore("handler", "iscsi-decoder", new PduDecoder(limits));
    pipeline.addBefore("handler", "iscsi-encoder", new PduEncoder(limits));
    socket.messageHandler(this::received);
    socket.closeHandler(v -> terminated("connection closed"));
    socket.exceptionHandler(err -> terminated("connection error: " + err));
  }

  private void received(Object msg) {
    if (msg instanceof Pdu pdu) {
      if (listener == null) {
        pdu.release();
        return;
      }
      listener.controlNotify(pdu);
    } else if (msg instanceof DiscardedPdu d) {
      if (listener != null) listener.pduDiscarded(d.reason());
    } else if (msg instanceof FramingError err) {
      terminated("framing error: " + err.reason());
      socket.close();
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  private void terminated(String reason) {
    if (terminated) return;
    terminated = true;
    if (listener != null) listener.connectionTerminateNotify(reason);
  }

  @Override
  public String transport() {
    return TcpTransport.NAME;
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
  public void listener(DatamoverListener listener) {
    this.listener = listener;
  }

  @Override
  public Future<Void> sendControl(TargetPdu pdu) {
    return write(pdu);
  }

  @Override
  public Future<Void> putData(DataInPdu pdu) {
    return write(pdu);
  }

  @Override
  public Future<Void> getData(R2tPdu pdu) {
    return write(pdu);
  }

  @Override
  public void post(TargetPdu pdu) {
    if (terminated) {
      pdu.release();
      return;
    }
    // The encoder releases the PDU once it has been encoded.
    channel.writeAndFlush(pdu, unobserved);
  }

  private Future<Void> write(Pdu pdu) {
    if (terminated) {
      pdu.release();
      return Future.failedFuture(NetSocketInternal.CLOSED_EXCEPTION);
    }
    PromiseInternal<Void> p = ((ContextInternal) context).promise();
    channel.writeAndFlush(pdu).addListener(p);
    return p.future();
  }

  @Override
  public void noticeKeyValues(DatamoverKeys keys) {
    this.pendingKeys = keys;
  }

  @Override
  public void enableDatamover() {
    DatamoverKeys k = pendingKeys;
    if (k != null) {
      limits.digests(k.headerDigest(), k.dataDigest());
      limits.maxRecvDataSegmentLength(k.targetMaxRecvDataSegmentLength());
      limits.skipBadHeaders(k.errorRecoveryLevel() > 0);
    }
  }

  @Override
  public void deallocateTaskResources(int itt) {
    // iSCSI/TCP keeps no per-task state in the datamover.
  }

  @Override
  public void outboundLimit(OutboundLimit limit) {
    budget.limit(limit);
  }

  @Override
  public void pause() {
    socket.pause();
  }

  @Override
  public void resume() {
    socket.resume();
  }

  @Override
  public Future<Void> terminate() {
    return socket.close();
  }
}
