package io.spindle.rdma;

import io.netty.buffer.ByteBuf;

/**
 * An RDMA Write (RFC 5040 §5.1) of {@code source} to the peer's region {@code remoteStag} at tagged
 * offset {@code remoteOffset}. Ownership of {@code source} passes to the provider when posted.
 * RDMAP orders the placement before any later Send's completion at the peer (RFC 5040 §5.5), so a
 * Write followed by a Send needs no completion in between.
 */
public record WriteRequest(long wrId, ByteBuf source, int remoteStag, long remoteOffset, boolean signaled) {

  public static WriteRequest of(long wrId, ByteBuf source, int remoteStag, long remoteOffset) {
    return new WriteRequest(wrId, source, remoteStag, remoteOffset, true);
  }

  public WriteRequest unsignaled() {
    return new WriteRequest(wrId, source, remoteStag, remoteOffset, false);
  }
}
