package io.spindle.transport.tcp;

import io.spindle.iscsi.datamover.DatamoverConnection;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.VerticleBase;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetServer;

/** One event loop's share of a TCP portal: accepts connections and wraps them as datamovers. */
final class TcpPortalVerticle extends VerticleBase {

  private final String host;
  private final int port;
  private final TcpOptions options;
  private final Handler<DatamoverConnection> acceptor;
  private NetServer server;

  /** @param port the port, or a negative key shared by instances that want one common random port */
  TcpPortalVerticle(String host, int port, TcpOptions options, Handler<DatamoverConnection> acceptor) {
    this.host = host;
    this.port = port;
    this.options = options;
    this.acceptor = acceptor;
  }

  @Override
  public Future<?> start() {
    server = vertx.createNetServer(options.serverOptions(host, port));
    server.connectHandler(socket -> acceptor.handle(new TcpDatamoverConnection((NetSocketInternal) socket)));
    return server.listen();
  }

  int actualPort() {
    return server.actualPort();
  }
}
