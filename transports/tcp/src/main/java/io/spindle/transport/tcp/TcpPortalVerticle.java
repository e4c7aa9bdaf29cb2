package io.spindle.transport.tcp;

import io.spindle.iscsi.datamover.DatamoverConnection;
import io.spindle.iscsi.datamover.PortalAddress;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.VerticleBase;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetServer;

/** One event loop's share of a TCP portal: accepts connections and wraps them as datamovers. */
final class TcpPortalVerticle extends VerticleBase {

  private final PortalAddress address;
  private final TcpOptions options;
  private final Handler<DatamoverConnection> acceptor;
  private NetServer server;

  TcpPortalVerticle(PortalAddress address, TcpOptions options, Handler<DatamoverConnection> acceptor) {
    this.address = address;
    this.options = options;
    this.acceptor = acceptor;
  }

  @Override
  public Future<?> start() {
    server = vertx.createNetServer(options.serverOptions(address.host(), address.port()));
    server.connectHandler(socket -> acceptor.handle(new TcpDatamoverConnection((NetSocketInternal) socket)));
    return server.listen();
  }

  int actualPort() {
    return server.actualPort();
  }
}
