package io.spindle.rdma.iwarp;

import io.spindle.rdma.RdmaDevice;
import io.spindle.rdma.RdmaProvider;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

/**
 * The software RNIC: iWARP (RDMAP over DDP over MPA, RFC 5040/5041/5044/6581) on plain TCP sockets.
 * Needs no hardware and talks to Linux siw.
 */
public final class IwarpProvider implements RdmaProvider {

  public static final String NAME = "iwarp";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Future<RdmaDevice> open(Vertx vertx, JsonObject options) {
    try {
      return Future.succeededFuture(new IwarpDevice(vertx, IwarpOptions.fromJson(options)));
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e);
    }
  }
}
