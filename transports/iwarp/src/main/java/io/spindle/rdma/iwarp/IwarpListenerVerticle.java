package io.spindle.rdma.iwarp;

import io.spindle.rdma.ConnectionRequest;
import io.spindle.rdma.StreamingConnection;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.VerticleBase;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;

/** One event loop's share of a listener: accepted sockets start MPA negotiation as passive side. */
final class IwarpListenerVerticle extends VerticleBase {

  private final IwarpDevice device;
  private final String host;
  private final int port;
  private final Handler<ConnectionRequest> handler;
  /** Null when every connection must start with an MPA Request. */
  private final Handler<StreamingConnection> streaming;
  private NetServer server;

  IwarpListenerVerticle(IwarpDevice device, String host, int port, Handler<ConnectionRequest> handler,
      Handler<StreamingConnection> streaming) {
    this.device = device;
    this.host = host;
    this.port = port;
    this.handler = handler;
    this.streaming = streaming;
  }

  @Override
  public Future<?> start() {
    server = vertx.createNetServer(new NetServerOptions().setHost(host).setPort(port).setTcpNoDelay(true)
        .setTcpKeepAlive(true).setReuseAddress(true));
    server.connectHandler(socket -> {
      ContextInternal context = (ContextInternal) vertx.getOrCreateContext();
      if (streaming == null) {
        IwarpConnection.passive(device, context, (NetSocketInternal) socket, handler, null);
      } else {
        MpaSniffer.install(device, context, (NetSocketInternal) socket, handler, streaming);
      }
    });
    return server.listen();
  }

  int actualPort() {
    return server.actualPort();
  }
}
