package io.spindle.rdma;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.net.SocketAddress;

/**
 * An opened RNIC: the factory of protection domains, listeners and queue pairs (the verbs
 * context plus the connection manager). Thread-safe.
 */
public interface RdmaDevice {

  /** The provider's name ({@code iwarp}, {@code disni}). */
  String provider();

  DeviceCapabilities capabilities();

  ProtectionDomain allocateProtectionDomain();

  /**
   * Creates an unconnected queue pair for the active side. Its context is the caller's context
   * when called on a Vert.x thread, else a new event-loop context. Post the first receives and set
   * the handlers, then call {@link RdmaConnection#connect}.
   */
  RdmaConnection createConnection(ProtectionDomain pd, QueuePairOptions options);

  /**
   * Listens for connection requests. Each {@link ConnectionRequest} is handed to {@code handler} on
   * the context the new connection will live on; the handler accepts or rejects it.
   *
   * @param address host and port to bind; port 0 picks a free port
   */
  Future<RdmaListener> listen(SocketAddress address, Handler<ConnectionRequest> handler);

  /**
   * Listens as {@link #listen(SocketAddress, Handler)}, and hands connections that do not start with
   * an MPA Request to {@code streaming} (RFC 5044 §7.1 streaming mode before MPA; RFC 5046 iSER).
   * Providers whose connection manager has no streaming mode (verbs over rdma_cm) never call it:
   * this default ignores {@code streaming}.
   */
  default Future<RdmaListener> listen(SocketAddress address, Handler<ConnectionRequest> handler,
      Handler<StreamingConnection> streaming) {
    return listen(address, handler);
  }

  /** Closes listeners the device opened; established connections are not touched. */
  Future<Void> close();
}
