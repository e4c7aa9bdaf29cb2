package io.spindle.rdma;

import io.netty.buffer.ByteBuf;

/**
 * A protection domain (RFC 5040 §2.1): memory regions registered here can be reached only through
 * queue pairs of the same domain. A peer names a region by its STag; an STag of another domain is
 * "not associated with the RDMAP stream" and gets a Terminate. Thread-safe.
 */
public interface ProtectionDomain {

  /**
   * Registers the readable bytes of {@code buffer}. The region keeps a reference to the buffer (it
   * calls {@code retain()}) and releases it on {@link MemoryRegion#deregister()}. Hardware providers
   * need a direct buffer with one NIO buffer; use {@link #allocate} to be safe.
   */
  MemoryRegion register(ByteBuf buffer, java.util.Set<Access> access);

  /** Allocates and registers a zeroed region of {@code length} bytes suitable for this provider. */
  MemoryRegion allocate(int length, java.util.Set<Access> access);

  /** Deregisters every region still registered. */
  void close();
}
