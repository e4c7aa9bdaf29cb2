package io.spindle.transport.tcp;

import io.spindle.iscsi.datamover.DatamoverConnection;
import io.spindle.iscsi.datamover.PortalAddress;
import io.spindle.iscsi.datamover.Transport;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

/**
 * iSCSI over TCP (RFC 7143): the degenerate datamover that writes every PDU on the byte stream.
 * A portal is served by several instances of {@link TcpPortalVerticle} sharing one listening
 * socket, so accepted connections spread over the event loops.
 */
public final class TcpTransport implements Transport {

  public static final String NAME = "tcp";
  /** Default verticle instances per portal: one per event loop Vert.x creates by default. */
  public static final int DEFAULT_INSTANCES = 2 * Runtime.getRuntime().availableProcessors();

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Future<Listener> listen(Vertx vertx, PortalAddress address, JsonObject options,
      Handler<DatamoverConnection> acceptor) {
    int instances = options.getInteger("instances", DEFAULT_INSTANCES);
    if (instances < 1) {
      return Future.failedFuture(new IllegalArgumentException("instances: " + instances + " must be at least 1"));
    }
    TcpOptions tcp = TcpOptions.fromJson(options);
    // The first instance binds (resolving port 0); the rest share its actual port.
    TcpPortalVerticle first = new TcpPortalVerticle(address, tcp, acceptor);
    return vertx.deployVerticle(first).compose(firstId -> {
      PortalAddress bound = new PortalAddress(address.host(), first.actualPort());
      Future<String> rest = instances == 1 ? Future.succeededFuture(null)
          : vertx.deployVerticle(() -> new TcpPortalVerticle(bound, tcp, acceptor),
              new DeploymentOptions().setInstances(instances - 1));
      return rest.<Listener>map(restId -> new Listener() {
        @Override
        public int actualPort() {
          return bound.port();
        }

        @Override
        public Future<Void> close() {
          Future<Void> a = vertx.undeploy(firstId);
          Future<Void> b = restId == null ? Future.succeededFuture() : vertx.undeploy(restId);
          return Future.all(a, b).mapEmpty();
        }
      }).recover(err -> vertx.undeploy(firstId).transform(x -> Future.failedFuture(err)));
    }).recover(err -> Future.failedFuture(new IllegalStateException(
        "portal " + address + " (tcp) could not start: " + err.getMessage(), err)));
  }
}
