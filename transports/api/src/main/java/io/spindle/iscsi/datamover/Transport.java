package io.spindle.iscsi.datamover;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

/**
 * A datamover transport, found with {@link java.util.ServiceLoader} by the name a portal
 * configures ({@code "transport": "tcp"}). {@link #listen} deploys the transport's verticles for
 * one portal; accepted connections are handed to {@code acceptor} on their own context.
 */
public interface Transport {

  /** The portal {@code transport} value this implementation serves. */
  String name();

  /**
   * Starts serving a portal. Fails with a message an operator can act on (address in use, no RDMA
   * device, missing native library) without affecting other portals.
   *
   * @param options the portal's transport options from the config ({@code host}, {@code port}, ...)
   */
  Future<Listener> listen(Vertx vertx, PortalAddress address, JsonObject options,
      Handler<DatamoverConnection> acceptor);

  /** A running portal listener. */
  interface Listener {
    /** The bound port (useful with port 0). */
    int actualPort();

    /** Stops accepting; existing connections stay. */
    Future<Void> close();
  }
}
