package io.spindle.rdma;

import io.netty.buffer.ByteBuf;

/**
 * An RDMAP Send (RFC 5040 §5.3): the payload lands in the peer's next posted receive buffer.
 * Ownership of {@code payload} passes to the provider when posted (a hardware provider copies it
 * into registered send buffers; the software provider sends it as is).
 *
 * @param wrId returned in the completion
 * @param payload the message; may be empty
 * @param solicitedEvent Send with Solicited Event (opcodes 5 and 6)
 * @param invalidate Send with Invalidate (opcodes 4 and 6): the peer invalidates {@code invalidateStag}
 *     before it completes the receive
 * @param invalidateStag the peer's STag to invalidate, when {@code invalidate}
 * @param signaled whether a successful completion is reported (errors always are)
 */
public record SendRequest(long wrId, ByteBuf payload, boolean solicitedEvent, boolean invalidate, int invalidateStag,
    boolean signaled) {

  public static SendRequest of(long wrId, ByteBuf payload) {
    return new SendRequest(wrId, payload, false, false, 0, true);
  }

  public SendRequest withSolicitedEvent() {
    return new SendRequest(wrId, payload, true, invalidate, invalidateStag, signaled);
  }

  public SendRequest withInvalidate(int stag) {
    return new SendRequest(wrId, payload, solicitedEvent, true, stag, signaled);
  }

  public SendRequest unsignaled() {
    return new SendRequest(wrId, payload, solicitedEvent, invalidate, invalidateStag, false);
  }
}
