package io.spindle.rdma;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.SocketAddress;

/**
 * A TCP connection accepted on an RDMA listener whose first bytes were not an MPA Request: the peer
 * runs it in streaming mode first and moves to MPA later (RFC 5044 §7.1: the ULP may use the
 * stream before the MPA Request; iSER as RFC 5046 §5 has it logs in this way). The ULP installs
 * its own codec in the socket's pipeline in front of Vert.x's {@code "handler"}, talks, and then
 * calls {@link #awaitMpaRequest} to become the passive side of an RDMAP stream on the same socket.
 * Runs on {@link #context()}.
 */
public interface StreamingConnection {

  Context context();

  /** The socket; the ULP owns its handlers until {@link #awaitMpaRequest}. */
  NetSocketInternal socket();

  /** The bytes the listener read to tell this connection from an MPA one (at least one byte). */
  Buffer prefix();

  default SocketAddress remoteAddress() {
    return socket().remoteAddress();
  }

  default SocketAddress localAddress() {
    return socket().localAddress();
  }

  /**
   * Switches the stream to MPA: the provider's frame decoder goes in front of {@code "handler"} and
   * takes over the socket's handlers. Call after the ULP's last streaming-mode message was written;
   * remove the ULP's decoder right after this call, so bytes it still buffers reach the provider.
   * Completes with the peer's MPA Request, to be accepted or rejected as any other; fails when the
   * stream ends or no valid Request comes in time.
   */
  Future<ConnectionRequest> awaitMpaRequest();
}
