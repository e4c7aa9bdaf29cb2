package io.spindle.rdma;

/**
 * An RDMA Read (RFC 5040 §5.2): {@code length} bytes at the peer's region {@code remoteStag},
 * tagged offset {@code remoteOffset}, are placed into {@code sink} at {@code sinkOffset}. The sink
 * needs {@link Access#LOCAL_WRITE}. At most ORD Reads are on the wire at once; later ones wait,
 * and so does every work request posted after them (send queue order).
 */
public record ReadRequest(long wrId, MemoryRegion sink, int sinkOffset, int length, int remoteStag,
    long remoteOffset, boolean signaled) {

  public static ReadRequest of(long wrId, MemoryRegion sink, int sinkOffset, int length, int remoteStag,
      long remoteOffset) {
    return new ReadRequest(wrId, sink, sinkOffset, length, remoteStag, remoteOffset, true);
  }
}
