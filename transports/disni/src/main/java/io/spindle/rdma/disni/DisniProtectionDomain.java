package io.spindle.rdma.disni;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.spindle.rdma.Access;
import io.spindle.rdma.MemoryRegion;
import io.spindle.rdma.ProtectionDomain;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A verbs protection domain with its two registered buffer pools: small buffers for Sends, large
 * ones for RDMA Write sources and Read sinks. Regions with remote access are registered one by one
 * (each needs keys of its own that can be revoked); local ones come from the pools when they fit.
 * The verbs domain is freed when the last queue pair using it is gone.
 */
final class DisniProtectionDomain implements ProtectionDomain {

  private final Verbs verbs;
  private final Object handle;
  private final BufferPool small;
  private final BufferPool large;
  private final Set<DisniMemoryRegion> regions = ConcurrentHashMap.newKeySet();
  private int queuePairs;
  private boolean closed;
  private boolean freed;

  DisniProtectionDomain(Verbs verbs, DisniOptions options) {
    this.verbs = verbs;
    try {
      this.handle = verbs.allocPd();
    } catch (IOException e) {
      throw new UncheckedIOException("ibv_alloc_pd failed on " + verbs.deviceName(), e);
    }
    this.small = new BufferPool(verbs, handle, options.smallBufferSize(), options.buffersPerGrowth(),
        options.maxPoolBuffers(), Verbs.ACCESS_LOCAL_WRITE);
    this.large = new BufferPool(verbs, handle, options.largeBufferSize(), options.buffersPerGrowth(),
        options.maxPoolBuffers(), Verbs.ACCESS_LOCAL_WRITE);
  }

  Verbs verbs() {
    return verbs;
  }

  Object handle() {
    return handle;
  }

  BufferPool small() {
    return small;
  }

  BufferPool large() {
    return large;
  }

  @Override
  public MemoryRegion register(ByteBuf buffer, Set<Access> access) {
    if (closed) throw new IllegalStateException("protection domain is closed");
    if (!buffer.isDirect() || buffer.nioBufferCount() != 1) {
      throw new IllegalArgumentException("verbs register direct memory in one piece; use allocate()");
    }
    ByteBuffer nio = buffer.nioBuffer(buffer.readerIndex(), buffer.readableBytes());
    Verbs.Mr mr;
    try {
      mr = verbs.regMr(handle, nio, DisniMemoryRegion.verbsAccess(access));
    } catch (IOException e) {
      throw new UncheckedIOException("ibv_reg_mr of " + nio.remaining() + " bytes failed", e);
    }
    ByteBuf view = buffer.retainedSlice(buffer.readerIndex(), buffer.readableBytes());
    DisniMemoryRegion r = new DisniMemoryRegion(this, view, access, mr, null);
    regions.add(r);
    return r;
  }

  @Override
  public MemoryRegion allocate(int length, Set<Access> access) {
    if (length < 0) throw new IllegalArgumentException("length " + length + " is negative");
    if (closed) throw new IllegalStateException("protection domain is closed");
    boolean remote = access.contains(Access.REMOTE_READ) || access.contains(Access.REMOTE_WRITE);
    if (!remote && access.contains(Access.LOCAL_WRITE)) {
      // The hot path: iSER's receive rings and RDMA Read sinks. No registration once the pool is warm.
      BufferPool pool = length <= small.bufferSize() ? small : length <= large.bufferSize() ? large : null;
      BufferPool.Buffer b = pool == null ? null : pool.take();
      if (b != null) {
        // Wrapping does not own the memory: releasing the view leaves the pool's slab alone.
        ByteBuf view = Unpooled.wrappedBuffer(b.memory().slice(0, length));
        view.setZero(0, length);
        DisniMemoryRegion r = new DisniMemoryRegion(this, view, access,
            new Verbs.Mr(b.mr().handle(), b.address(), length, b.lkey(), b.mr().rkey(), b.mr().access()), b);
        regions.add(r);
        return r;
      }
    }
    ByteBuf buffer = Unpooled.directBuffer(length, length).writeZero(length);
    try {
      return register(buffer, access);
    } finally {
      buffer.release();
    }
  }

  /** A peer's Send with Invalidate named {@code rkey}; the RNIC has revoked it already. */
  void remotelyInvalidated(int rkey) {
    for (DisniMemoryRegion r : regions) {
      if (r.stag() == rkey) r.remotelyInvalidated();
    }
  }

  void forget(DisniMemoryRegion r) {
    regions.remove(r);
  }

  synchronized void queuePairCreated() {
    queuePairs++;
  }

  synchronized void queuePairDestroyed() {
    queuePairs--;
    maybeFree();
  }

  @Override
  public void close() {
    synchronized (this) {
      if (closed) return;
      closed = true;
    }
    for (DisniMemoryRegion r : regions) r.deregister();
    small.close();
    large.close();
    synchronized (this) {
      maybeFree();
    }
  }

  private void maybeFree() {
    // ibv_dealloc_pd fails with EBUSY while a queue pair still uses the domain.
    if (!closed || freed || queuePairs > 0) return;
    freed = true;
    try {
      verbs.deallocPd(handle);
    } catch (IOException e) {
      // Freed with the device context at the latest.
    }
  }
}
