package io.spindle.transport.iser;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.util.ReferenceCountUtil;
import io.spindle.iscsi.codec.CodecLimits;
import io.spindle.iscsi.codec.DiscardedPdu;
import io.spindle.iscsi.codec.FramingError;
import io.spindle.iscsi.codec.PduDecoder;
import io.spindle.iscsi.codec.PduEncoder;
import io.spindle.iscsi.datamover.DatamoverConnection;
import io.spindle.iscsi.datamover.DatamoverKeys;
import io.spindle.iscsi.datamover.DatamoverListener;
import io.spindle.iscsi.pdu.DataInPdu;
import io.spindle.iscsi.pdu.Pdu;
import io.spindle.iscsi.pdu.R2tPdu;
import io.spindle.iscsi.pdu.TargetPdu;
import io.spindle.rdma.ConnectionRequest;
import io.spindle.rdma.ProtectionDomain;
import io.spindle.rdma.RdmaConnection;
import io.spindle.rdma.RdmaDevice;
import io.spindle.rdma.StreamingConnection;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.PromiseInternal;
import io.vertx.core.net.SocketAddress;
import java.util.ArrayDeque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The datamover of an iSER portal connection in the RFC 5046 style: the initiator opened plain TCP
 * and logs in in byte-stream mode, so login PDUs go through the iSCSI/TCP codec on the socket. At
 * Enable_Datamover (after the final Login Response left in byte-stream mode, RFC 5046 §5.1 /
 * RFC 5047 §3.2.7) the same socket moves to MPA: the initiator's MPA Request is answered by the
 * software RNIC, the connection's resources (queue pair, receive ring) are allocated before the
 * MPA Reply (Allocate_Connection_Resources), the initiator's Hello is answered with a HelloReply
 * (RFC 5046 §10.1.3), and from then on everything is delegated to an {@link IserDatamoverConnection}
 * with RFC 5046's 12-byte header. What the iSCSI layer sends between the final Login Response and
 * the HelloReply (a NOP-In) waits, so the HelloReply is the target's first iSER message.
 *
 * <p>When the login ends with RDMAExtensions=No the connection stays what it was: iSCSI/TCP on the
 * same codec (RFC 5046 §5.1: without RDMA extensions the connection goes on in traditional iSCSI
 * mode), so a plain iSCSI initiator can use an iSER portal too.
 *
 * <p>All methods run on the socket's context.
 */
final class IserStreamingDatamover implements DatamoverConnection {

  private static final Logger log = LoggerFactory.getLogger(IserStreamingDatamover.class);

  private enum Mode { BYTE_STREAM, SWITCHING, RDMA, ISCSI_TCP, CLOSED }

  private final String transport;
  private final RdmaDevice device;
  private final IserOptions options;
  private final StreamingConnection stream;
  private final ChannelHandlerContext channel;
  private final CodecLimits limits = new CodecLimits();
  private final ArrayDeque<Held> held = new ArrayDeque<>();
  private Mode mode = Mode.BYTE_STREAM;
  private DatamoverListener listener;
  private DatamoverKeys pendingKeys;
  private IserDatamoverConnection rdma;

  /** A PDU the iSCSI layer sent while the connection moved to RDMA mode. */
  private record Held(TargetPdu pdu, Promise<Void> promise) {
  }

  IserStreamingDatamover(String transport, RdmaDevice device, IserOptions options, StreamingConnection stream) {
    this.transport = transport;
    this.device = device;
    this.options = options;
    this.stream = stream;
    this.channel = stream.socket().channelHandlerContext();
    ChannelPipeline pipeline = channel.pipeline();
    pipeline.addBefore("handler", "iscsi-decoder", new PduDecoder(limits));
    pipeline.addBefore("handler", "iscsi-encoder", new PduEncoder(limits));
    stream.socket().messageHandler(this::received);
    stream.socket().closeHandler(v -> {
      if (mode == Mode.BYTE_STREAM || mode == Mode.ISCSI_TCP) terminated("connection closed");
    });
    stream.socket().exceptionHandler(err -> {
      if (mode == Mode.BYTE_STREAM || mode == Mode.ISCSI_TCP) terminated("connection error: " + err);
    });
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
      log.warn("iSER connection {}: byte-stream framing error: {}", remoteAddress(), err.reason());
      terminated("framing error: " + err.reason());
      stream.socket().close();
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  private void terminated(String reason) {
    if (mode == Mode.CLOSED) return;
    mode = Mode.CLOSED;
    for (Held h; (h = held.poll()) != null; ) {
      h.pdu().release();
      h.promise().tryFail("connection ended: " + reason);
    }
    if (listener != null) listener.connectionTerminateNotify(reason);
  }

  @Override
  public String transport() {
    return transport;
  }

  @Override
  public Context context() {
    return stream.context();
  }

  @Override
  public SocketAddress remoteAddress() {
    return stream.remoteAddress();
  }

  @Override
  public SocketAddress localAddress() {
    return stream.localAddress();
  }

  @Override
  public void listener(DatamoverListener listener) {
    this.listener = listener;
    if (rdma != null) rdma.listener(listener);
  }

  // ------------------------------------------------------------------ Datamover Interface

  @Override
  public Future<Void> sendControl(TargetPdu pdu) {
    return switch (mode) {
      case RDMA -> rdma.sendControl(pdu);
      case SWITCHING -> hold(pdu);
      default -> write(pdu);
    };
  }

  @Override
  public Future<Void> putData(DataInPdu pdu) {
    return switch (mode) {
      case RDMA -> rdma.putData(pdu);
      case SWITCHING -> hold(pdu);
      default -> write(pdu);
    };
  }

  @Override
  public Future<Void> getData(R2tPdu pdu) {
    return switch (mode) {
      case RDMA -> rdma.getData(pdu);
      case SWITCHING -> hold(pdu);
      default -> write(pdu);
    };
  }

  /** Byte-stream mode: the PDU through the codec (login, or iSCSI/TCP after RDMAExtensions=No). */
  private Future<Void> write(TargetPdu pdu) {
    if (mode == Mode.CLOSED) {
      pdu.release();
      return Future.failedFuture("connection is closed");
    }
    PromiseInternal<Void> p = ((ContextInternal) stream.context()).promise();
    channel.writeAndFlush(pdu).addListener(p);
    return p.future();
  }

  private Future<Void> hold(TargetPdu pdu) {
    Promise<Void> p = Promise.promise();
    held.add(new Held(pdu, p));
    return p.future();
  }

  @Override
  public void noticeKeyValues(DatamoverKeys keys) {
    this.pendingKeys = keys;
  }

  @Override
  public void enableDatamover() {
    if (mode != Mode.BYTE_STREAM) return;
    DatamoverKeys k = pendingKeys;
    if (k == null || !k.rdmaExtensions()) {
      // RFC 5046 §5.1: without RDMAExtensions=Yes the connection stays in traditional iSCSI mode.
      if (k != null) {
        limits.digests(k.headerDigest(), k.dataDigest());
        limits.maxRecvDataSegmentLength(k.targetMaxRecvDataSegmentLength());
        limits.skipBadHeaders(k.errorRecoveryLevel() > 0);
      }
      log.info("iSER connection {}: RDMAExtensions=No, the connection goes on as iSCSI/TCP", remoteAddress());
      mode = Mode.ISCSI_TCP;
      return;
    }
    // RFC 5046 §5.1: the final Login Response has left in byte-stream mode (the iSCSI layer sent it
    // on this event loop, so the encoder has already turned it into bytes); the next bytes from the
    // initiator are its MPA Request. The RNIC's decoder goes in behind ours before ours leave, so
    // whatever the PDU decoder still buffers reaches it.
    mode = Mode.SWITCHING;
    Future<ConnectionRequest> request = stream.awaitMpaRequest();
    ChannelPipeline pipeline = channel.pipeline();
    pipeline.remove("iscsi-encoder");
    pipeline.remove("iscsi-decoder");
    request.onComplete(ar -> {
      if (ar.failed()) {
        log.warn("iSER connection {}: no MPA after the byte-stream login: {}", remoteAddress(),
            ar.cause().getMessage());
        terminated("MPA negotiation failed: " + ar.cause().getMessage());
      } else {
        accept(ar.result(), k);
      }
    });
  }

  /**
   * RFC 5047 §3.2.4 Allocate_Connection_Resources, then the MPA Reply: the queue pair and its
   * receive ring exist before the initiator can send its Hello. RFC 5046 defines no MPA private
   * data, and without the iSER CM private data of RFC 7145 there is no agreement on Send with
   * Invalidate, so responses are plain Sends.
   */
  private void accept(ConnectionRequest req, DatamoverKeys keys) {
    if (mode != Mode.SWITCHING) {
      req.reject(Buffer.buffer());
      return;
    }
    ProtectionDomain pd = device.allocateProtectionDomain();
    RdmaConnection qp = req.createConnection(pd, options.queuePairOptions());
    IserDatamoverConnection dm = new IserDatamoverConnection(transport, qp, pd, options, false,
        IserHeader.Format.RFC5046, true);
    dm.noticeKeyValues(keys);
    dm.enableDatamover();
    dm.listener(listener);
    rdma = dm;
    req.accept(Buffer.buffer()).onFailure(err -> {
      log.warn("iSER connection {}: accepting the MPA Request failed: {}", remoteAddress(), err.toString());
      pd.close();
      terminated("MPA accept failed: " + err.getMessage());
    });
    dm.helloDone().onComplete(ar -> {
      if (mode != Mode.SWITCHING) return;
      if (ar.failed()) {
        // The RDMA datamover has told the iSCSI layer; drop what waited.
        mode = Mode.CLOSED;
        for (Held h; (h = held.poll()) != null; ) {
          h.pdu().release();
          h.promise().tryFail(ar.cause());
        }
        return;
      }
      mode = Mode.RDMA;
      for (Held h; (h = held.poll()) != null; ) {
        TargetPdu pdu = h.pdu();
        Future<Void> f = pdu instanceof DataInPdu d ? dm.putData(d)
            : pdu instanceof R2tPdu r ? dm.getData(r) : dm.sendControl(pdu);
        f.onComplete(h.promise());
      }
    });
  }

  @Override
  public void deallocateTaskResources(int itt) {
    if (rdma != null) rdma.deallocateTaskResources(itt);
  }

  @Override
  public void pause() {
    if (mode == Mode.BYTE_STREAM || mode == Mode.ISCSI_TCP) stream.socket().pause();
  }

  @Override
  public void resume() {
    if (mode == Mode.BYTE_STREAM || mode == Mode.ISCSI_TCP) stream.socket().resume();
  }

  @Override
  public Future<Void> terminate() {
    if (rdma != null) return rdma.terminate();
    return stream.socket().close();
  }
}
