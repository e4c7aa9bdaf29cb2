package io.spindle.rdma.iwarp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.spindle.rdma.ConnectionRequest;
import io.spindle.rdma.StreamingConnection;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.net.NetSocketInternal;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells, on a listener that also serves streaming-mode peers, an MPA connection from one that starts
 * in streaming mode (RFC 5044 §7.1): the first bytes either spell the MPA Request key or differ from
 * it. Then it hands the socket on (to {@link IwarpConnection#passive} or to the ULP's
 * {@link StreamingConnection} handler) and removes itself; what it buffered flows on to the decoder
 * installed behind it, so no byte is lost. A peer that says nothing is closed after the MPA timeout.
 */
final class MpaSniffer extends ByteToMessageDecoder {

  private static final Logger log = LoggerFactory.getLogger(MpaSniffer.class);

  private final IwarpDevice device;
  private final ContextInternal context;
  private final NetSocketInternal socket;
  private final Handler<ConnectionRequest> requests;
  private final Handler<StreamingConnection> streaming;
  private final long timer;
  private boolean decided;

  private MpaSniffer(IwarpDevice device, ContextInternal context, NetSocketInternal socket,
      Handler<ConnectionRequest> requests, Handler<StreamingConnection> streaming) {
    this.device = device;
    this.context = context;
    this.socket = socket;
    this.requests = requests;
    this.streaming = streaming;
    this.timer = device.vertx().setTimer(device.options().mpaTimeoutMillis(), id -> context.runOnContext(v -> {
      if (!decided) {
        decided = true;
        log.warn("iWARP listener: {} sent nothing within {} ms; closing", socket.remoteAddress(),
            device.options().mpaTimeoutMillis());
        socket.close();
      }
    }));
  }

  static void install(IwarpDevice device, ContextInternal context, NetSocketInternal socket,
      Handler<ConnectionRequest> requests, Handler<StreamingConnection> streaming) {
    MpaSniffer sniffer = new MpaSniffer(device, context, socket, requests, streaming);
    // A peer that leaves before its first bytes: no timer, no log line. The side chosen later sets its own.
    socket.closeHandler(v -> {
      sniffer.decided = true;
      device.vertx().cancelTimer(sniffer.timer);
    });
    socket.channelHandlerContext().pipeline().addBefore("handler", "iwarp-sniffer", sniffer);
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (decided) return;
    int n = Math.min(in.readableBytes(), MpaFrame.REQUEST_KEY.length);
    boolean mpa = true;
    for (int i = 0; i < n; i++) {
      if (in.getByte(in.readerIndex() + i) != MpaFrame.REQUEST_KEY[i]) {
        mpa = false;
        break;
      }
    }
    if (mpa && n < MpaFrame.REQUEST_KEY.length) return; // a prefix of the key so far: wait
    decided = true;
    device.vertx().cancelTimer(timer);
    if (mpa) {
      IwarpConnection.passive(device, context, socket, requests, null);
    } else {
      byte[] prefix = new byte[in.readableBytes()];
      in.getBytes(in.readerIndex(), prefix);
      streaming.handle(new Streaming(Buffer.buffer(prefix)));
    }
    // Removal hands the buffered bytes to the decoder the chosen side installed behind us.
    ctx.pipeline().remove(this);
  }

  /** The streaming-mode connection handed to the ULP. */
  private final class Streaming implements StreamingConnection {
    private final Buffer prefix;
    private boolean switched;

    Streaming(Buffer prefix) {
      this.prefix = prefix;
    }

    @Override
    public Context context() {
      return context;
    }

    @Override
    public NetSocketInternal socket() {
      return socket;
    }

    @Override
    public Buffer prefix() {
      return prefix;
    }

    @Override
    public Future<ConnectionRequest> awaitMpaRequest() {
      if (switched) return Future.failedFuture(new IllegalStateException("already switched to MPA"));
      switched = true;
      Promise<ConnectionRequest> p = context.promise();
      IwarpConnection.passive(device, context, socket, p::tryComplete,
          reason -> p.tryFail(new IllegalStateException(reason)));
      return p.future();
    }
  }
}
