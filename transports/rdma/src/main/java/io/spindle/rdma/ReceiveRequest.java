package io.spindle.rdma;

/**
 * A receive buffer for one incoming Send: {@code length} bytes of {@code region} from
 * {@code offset}. The region needs {@link Access#LOCAL_WRITE}. Receives are consumed in the order
 * posted (RFC 5041 §5.3, untagged queue 0); a Send larger than the buffer is an error for both ends.
 */
public record ReceiveRequest(long wrId, MemoryRegion region, int offset, int length) {
}
