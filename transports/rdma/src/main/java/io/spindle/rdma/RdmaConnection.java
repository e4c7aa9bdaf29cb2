package io.spindle.rdma;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.SocketAddress;

/**
 * One queue pair and its connection (RFC 5040 "RDMAP Stream"). Every method must be called on
 * {@link #context()} and none blocks; handlers run there too. Post methods check their arguments
 * and throw {@link IllegalArgumentException} or {@link IllegalStateException} for caller bugs
 * (wrong context, queue full, a negative length); everything the network does to a request is
 * reported as a {@link WorkCompletion}. After the connection has ended, posted requests complete
 * with {@link WorkCompletion.Status#FLUSHED}. Buffers passed in a request belong to the provider
 * from the call on, even when the call throws.
 *
 * <p>Completions of Sends, Writes and Reads are reported in posting order (a Send posted after a
 * Read completes after it), as verbs send queues do; receives complete in the order posted.
 */
public interface RdmaConnection {

  enum State { IDLE, CONNECTING, ESTABLISHED, CLOSED }

  Context context();

  State state();

  ProtectionDomain protectionDomain();

  QueuePairOptions options();

  /** The remote address, or null before the connection exists. */
  SocketAddress remoteAddress();

  SocketAddress localAddress();

  /** Reads this side may have outstanding, after negotiation (at most the peer's IRD). */
  int ord();

  /** Reads this side accepts from the peer at once. */
  int ird();

  /** The ULP private data the peer sent in its request (passive side) or reply (active side). */
  Buffer peerPrivateData();

  RdmaConnection completionHandler(Handler<WorkCompletion> handler);

  RdmaConnection eventHandler(Handler<ConnectionEvent> handler);

  /**
   * Active side: connects and negotiates, sending {@code privateData}. Fails with
   * {@link ConnectionRejectedException} if the peer rejects.
   */
  Future<Void> connect(SocketAddress remote, Buffer privateData);

  /**
   * Active side on a TCP connection the ULP opened and used in streaming mode (RFC 5044 §7.1; iSER
   * as RFC 5046 §5): sends the MPA Request on {@code socket} and negotiates as {@link #connect}.
   * The provider's decoder goes in front of {@code "handler"} and takes the socket's handlers;
   * remove the ULP's decoder right after this call. Providers without streaming mode fail.
   */
  default Future<Void> connect(io.vertx.core.internal.net.NetSocketInternal socket, Buffer privateData) {
    return Future.failedFuture(new UnsupportedOperationException("this RDMA provider has no streaming mode"));
  }

  void postReceive(ReceiveRequest request);

  void postSend(SendRequest request);

  void postWrite(WriteRequest request);

  void postRead(ReadRequest request);

  /** Orderly close: work already posted is sent first; a DISCONNECTED event follows. */
  Future<Void> disconnect();
}
