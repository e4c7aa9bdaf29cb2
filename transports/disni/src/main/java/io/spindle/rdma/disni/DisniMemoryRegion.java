package io.spindle.rdma.disni;

import io.netty.buffer.ByteBuf;
import io.spindle.rdma.Access;
import io.spindle.rdma.MemoryRegion;
import io.spindle.rdma.ProtectionDomain;
import java.io.IOException;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/**
 * A verbs memory region. The STag a peer uses is the rkey; the tagged offset is the virtual address
 * (verbs regions are not zero-based). A region from a {@link BufferPool} goes back to the pool when
 * deregistered; any other is deregistered for real.
 *
 * <p>Local invalidation: without a fast-registration/local-invalidate opcode (DiSNI 2.1 has none)
 * a region that a peer may reach is invalidated by deregistering its keys, so any later remote
 * access fails; the buffer stays with the region until {@link #deregister()}.
 */
final class DisniMemoryRegion implements MemoryRegion {

  private final DisniProtectionDomain pd;
  private final ByteBuf buffer;
  private final Set<Access> access;
  private final BufferPool.Buffer pooled;
  private final long address;
  private final int lkey;
  private final int rkey;
  private Verbs.Mr mr;
  private volatile boolean valid = true;
  private boolean registered = true;

  DisniMemoryRegion(DisniProtectionDomain pd, ByteBuf buffer, Set<Access> access, Verbs.Mr mr,
      BufferPool.Buffer pooled) {
    this.pd = pd;
    this.buffer = buffer;
    this.access = Collections.unmodifiableSet(access.isEmpty() ? EnumSet.noneOf(Access.class) : EnumSet.copyOf(access));
    this.mr = mr;
    this.pooled = pooled;
    this.address = mr.address();
    this.lkey = mr.lkey();
    this.rkey = mr.rkey();
  }

  static int verbsAccess(Set<Access> access) {
    int a = 0;
    // Verbs require local write whenever remote write is granted (ibv_reg_mr: EINVAL otherwise).
    if (access.contains(Access.LOCAL_WRITE) || access.contains(Access.REMOTE_WRITE)) a |= Verbs.ACCESS_LOCAL_WRITE;
    if (access.contains(Access.REMOTE_WRITE)) a |= Verbs.ACCESS_REMOTE_WRITE;
    if (access.contains(Access.REMOTE_READ)) a |= Verbs.ACCESS_REMOTE_READ;
    return a;
  }

  @Override
  public int stag() {
    return rkey;
  }

  /** The key for local scatter/gather entries. */
  int lkey() {
    return lkey;
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

  DisniProtectionDomain pd() {
    return pd;
  }

  @Override
  public boolean isValid() {
    return valid;
  }

  /** Marks the region invalidated by a peer's Send with Invalidate (the RNIC already did it). */
  void remotelyInvalidated() {
    valid = false;
  }

  @Override
  public void invalidate() {
    valid = false;
    boolean remote = access.contains(Access.REMOTE_READ) || access.contains(Access.REMOTE_WRITE);
    if (remote && pooled == null) dropKeys();
  }

  private synchronized void dropKeys() {
    if (mr == null) return;
    try {
      pd.verbs().deregMr(mr);
    } catch (IOException e) {
      // The keys die with the protection domain at the latest.
    }
    mr = null;
  }

  @Override
  public void deregister() {
    valid = false;
    synchronized (this) {
      if (!registered) return;
      registered = false;
    }
    pd.forget(this);
    if (pooled != null) {
      buffer.release();
      pooled.pool().give(pooled);
    } else {
      dropKeys();
      buffer.release();
    }
  }

  @Override
  public String toString() {
    return "MemoryRegion{stag=0x" + Integer.toHexString(rkey) + ", address=0x" + Long.toHexString(address)
        + ", length=" + length() + ", access=" + access + (valid ? "" : ", invalid") + "}";
  }
}
