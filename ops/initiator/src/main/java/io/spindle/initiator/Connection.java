package io.spindle.initiator;

import io.netty.buffer.ByteBuf;
import io.spindle.iscsi.pdu.Pdu;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import java.net.SocketAddress;

/**
 * One TCP connection to a target with the iSCSI codec installed. Sessions use it; "bad client"
 * tests use it directly to send arbitrary bytes or PDUs and to watch what comes back.
 *
 * <p>Every method may be called from any thread; work runs on the connection's Vert.x context.
 */
public interface Connection {

  /** Writes raw bytes to the socket, bypassing the PDU encoder. Ownership of {@code bytes} passes here. */
  Future<Void> sendRaw(ByteBuf bytes);

  /** Encodes and writes one PDU (digests as negotiated). Ownership of {@code pdu} passes here. */
  Future<Void> send(Pdu pdu);

  /**
   * Sees every received PDU before the session does. The PDU is valid only during the call
   * (the connection releases it afterwards); retain it to keep it. The handler runs on the
   * connection's context; null removes it.
   */
  Connection pduHandler(Handler<Pdu> handler);

  /** Completes when the socket has closed; its value is why ({@code null} for an orderly close). */
  Future<Throwable> closeFuture();

  boolean isClosed();

  /** Closes the socket; pending requests of a session on it fail with {@link ConnectionClosedException}. */
  Future<Void> close();

  SocketAddress localAddress();

  SocketAddress remoteAddress();
}
