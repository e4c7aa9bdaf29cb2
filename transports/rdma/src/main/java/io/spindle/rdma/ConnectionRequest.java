package io.spindle.rdma;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.SocketAddress;

/**
 * An incoming connection request on a listener (MPA Request, RFC 5044 §7.1; CM CONNECT_REQUEST).
 * Handled on {@link #context()}, where the connection will live. To accept: {@link #createConnection},
 * post the first receives on it and set its handlers (the peer may send as soon as it has the
 * reply), then {@link #accept}. Or {@link #reject}. A request neither accepted nor rejected in time
 * is dropped by the provider.
 */
public interface ConnectionRequest {

  Context context();

  SocketAddress remoteAddress();

  SocketAddress localAddress();

  /** The ULP private data of the request (an MPA v2 IRD/ORD block already removed). */
  Buffer privateData();

  /** The initiator's IRD, or -1 when the connection setup does not carry it (MPA revision 1). */
  int peerIrd();

  /** The initiator's ORD, or -1 when unknown. */
  int peerOrd();

  /** Creates the queue pair that will serve this connection; once only. */
  RdmaConnection createConnection(ProtectionDomain pd, QueuePairOptions options);

  /**
   * Accepts with {@code privateData}. The connection's ORD becomes at most the peer's IRD. Completes
   * when the connection is established (an {@link ConnectionEvent.Type#ESTABLISHED} event follows).
   */
  Future<RdmaConnection> accept(Buffer privateData);

  /** Rejects with {@code privateData} and closes. */
  Future<Void> reject(Buffer privateData);
}
