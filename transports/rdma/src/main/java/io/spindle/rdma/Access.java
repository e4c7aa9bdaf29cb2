package io.spindle.rdma;

import java.util.EnumSet;
import java.util.Set;

/**
 * Access rights of a memory region (RFC 5040 §2.1 "STag", §5.1). Local read is always allowed.
 */
public enum Access {
  /** The local RNIC may place data here: receive buffers and RDMA Read sinks. */
  LOCAL_WRITE,
  /** A peer may read the region with RDMA Read. */
  REMOTE_READ,
  /** A peer may write the region with RDMA Write. */
  REMOTE_WRITE,
  /**
   * Not a right but a registration mode, as verbs' IBV_ACCESS_ZERO_BASED: the region's tagged
   * offsets start at 0 ({@link MemoryRegion#address()} is 0). RFC 5046 iSER advertises STags
   * without base offsets and so needs it. Providers that cannot do it ignore it.
   */
  ZERO_BASED;

  public static Set<Access> of(Access first, Access... rest) {
    return EnumSet.of(first, rest);
  }
}
