package io.spindle.transport.tcp;

import io.spindle.iscsi.datamover.DatamoverConnection;
import io.spindle.iscsi.datamover.PortalAddress;
import io.spindle.iscsi.datamover.Transport;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * iSCSI over TCP (RFC 7143): the degenerate datamover that writes every PDU on the byte stream.
 * A portal is served by several instances of {@link TcpPortalVerticle} sharing one listening
 * socket, so accepted connections spread over the event loops.
 */
public final class TcpTransport implements Transport {

  public static final String NAME = "tcp";
  /** Default verticle instances per portal: one per event loop Vert.x creates by default. */
  public static final int DEFAULT_INSTANCES = 2 * Runtime.getRuntime().availableProcessors();

  private static final AtomicInteger RANDOM_PORT_KEYS = new AtomicInteger();

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
    TcpOptions tcp;
    try {
      tcp = TcpOptions.fromJson(options);
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e);
    }
    // Vert.x shares one listening socket among servers asking for the same (host, port); for
    // "any free port" a negative port is the key that makes instances share one random port.
    int bindPort = address.port() == 0 ? RANDOM_PORT_KEYS.decrementAndGet() : address.port();
    List<TcpPortalVerticle> created = new CopyOnWriteArrayList<>();
    return vertx.deployVerticle(() -> {
      TcpPortalVerticle v = new TcpPortalVerticle(address.host(), bindPort, tcp, acceptor);
      created.add(v);
      return v;
    }, new DeploymentOptions().setInstances(instances)).<Listener>map(id -> {
      int actual = created.get(0).actualPort();
      return new Listener() {
        @Override
        public int actualPort() {
          return actual;
        }

        @Override
        public Future<Void> close() {
          return vertx.undeploy(id);
        }
      };
    }).recover(err -> Future.failedFuture(new IllegalStateException(
        "portal " + address + " (tcp) could not start: " + err.getMessage(), err)));
  }
}
