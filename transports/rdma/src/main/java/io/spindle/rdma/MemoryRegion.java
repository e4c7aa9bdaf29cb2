package io.spindle.rdma;

import io.netty.buffer.ByteBuf;
import java.util.Set;

/**
 * Registered memory (RFC 5040 §2.1). Peers address it with {@link #stag()} and a tagged offset:
 * byte {@code i} of the region is at tagged offset {@code address() + i}. A region that has been
 * invalidated, locally or by a peer's Send with Invalidate, or deregistered, refuses all remote
 * access from then on; re-register the memory to hand it out again.
 */
public interface MemoryRegion {

  /** The steering tag a peer uses for this region. */
  int stag();

  /** Tagged offset of the first byte (a virtual address for hardware, chosen by the provider). */
  long address();

  int length();

  Set<Access> access();

  /** The registered bytes, indexes 0 to {@code length()}. Not a new reference: do not release it. */
  ByteBuf buffer();

  ProtectionDomain protectionDomain();

  /** False once invalidated or deregistered. */
  boolean isValid();

  /** Local invalidation: remote access through the STag stops now. */
  void invalidate();

  /** Invalidates and releases the region's reference to its buffer. Idempotent. */
  void deregister();
}
