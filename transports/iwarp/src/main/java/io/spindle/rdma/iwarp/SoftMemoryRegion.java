package io.spindle.rdma.iwarp;

import io.netty.buffer.ByteBuf;
import io.netty.util.IllegalReferenceCountException;
import io.spindle.rdma.Access;
import io.spindle.rdma.MemoryRegion;
import io.spindle.rdma.ProtectionDomain;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/**
 * A memory region of the software RNIC: a ByteBuf, an STag and a base tagged offset. Lookups and
 * placement happen on connections' event loops while registration may happen anywhere, so state
 * is a volatile flag plus the buffer's own reference count; placement pins the buffer with
 * {@link #acquire()} so a concurrent deregistration cannot free it under the copy.
 */
final class SoftMemoryRegion implements MemoryRegion {

  private final SoftProtectionDomain pd;
  private final int stag;
  private final long address;
  private final ByteBuf buffer;
  private final Set<Access> access;
  private volatile boolean valid = true;
  private volatile boolean registered = true;

  SoftMemoryRegion(SoftProtectionDomain pd, int stag, long address, ByteBuf buffer, Set<Access> access) {
    this.pd = pd;
    this.stag = stag;
    this.address = address;
    this.buffer = buffer;
    this.access = Collections.unmodifiableSet(access.isEmpty() ? EnumSet.noneOf(Access.class) : EnumSet.copyOf(access));
  }

  @Override
  public int stag() {
    return stag;
  }

  @Override
  public long address() {
    return address;
  }

  @Override
  public int length() {
    return buffer.capacity();
  }

  @Override
  public Set<Access> access() {
    return access;
  }

  @Override
  public ByteBuf buffer() {
    return buffer;
  }

  @Override
  public ProtectionDomain protectionDomain() {
    return pd;
  }

  SoftProtectionDomain pd() {
    return pd;
  }

  @Override
  public boolean isValid() {
    return valid;
  }

  @Override
  public void invalidate() {
    valid = false;
  }

  /**
   * Remote invalidation (RFC 5040 §5.3, Send with Invalidate).
   *
   * @return false when the region was never handed to a peer (no remote access right), which the
   *     caller reports as "cannot invalidate"
   */
  boolean remoteInvalidate() {
    if (!access.contains(Access.REMOTE_READ) && !access.contains(Access.REMOTE_WRITE)) return false;
    valid = false;
    return true;
  }

  @Override
  public void deregister() {
    valid = false;
    synchronized (this) {
      // Registration calls, not the I/O path: make the release happen once.
      if (!registered) return;
      registered = false;
    }
    pd.forget(this);
    buffer.release();
  }

  /** Pins the buffer for a placement; null if the region is invalid or already freed. Release after use. */
  ByteBuf acquire() {
    if (!valid) return null;
    try {
      buffer.retain();
    } catch (IllegalReferenceCountException e) {
      return null;
    }
    if (!valid) {
      buffer.release();
      return null;
    }
    return buffer;
  }

  @Override
  public String toString() {
    return "MemoryRegion{stag=0x" + Integer.toHexString(stag) + ", address=0x" + Long.toHexString(address)
        + ", length=" + length() + ", access=" + access + (valid ? "" : ", invalid") + "}";
  }
}
