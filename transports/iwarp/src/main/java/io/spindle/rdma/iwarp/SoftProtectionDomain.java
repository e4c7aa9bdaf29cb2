package io.spindle.rdma.iwarp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.spindle.rdma.Access;
import io.spindle.rdma.MemoryRegion;
import io.spindle.rdma.ProtectionDomain;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** A protection domain of the software RNIC; STags are allocated by the device. */
final class SoftProtectionDomain implements ProtectionDomain {

  private final IwarpDevice device;
  private final Set<SoftMemoryRegion> regions = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  SoftProtectionDomain(IwarpDevice device) {
    this.device = device;
  }

  @Override
  public MemoryRegion register(ByteBuf buffer, Set<Access> access) {
    if (closed) throw new IllegalStateException("protection domain is closed");
    ByteBuf view = buffer.slice(buffer.readerIndex(), buffer.readableBytes());
    buffer.retain();
    SoftMemoryRegion mr = device.newRegion(this, view, access);
    regions.add(mr);
    return mr;
  }

  @Override
  public MemoryRegion allocate(int length, Set<Access> access) {
    if (length < 0) throw new IllegalArgumentException("length " + length + " is negative");
    ByteBuf buffer = PooledByteBufAllocator.DEFAULT.directBuffer(length, length).writeZero(length);
    try {
      return register(buffer, access);
    } finally {
      buffer.release();
    }
  }

  void forget(SoftMemoryRegion mr) {
    regions.remove(mr);
    device.forget(mr);
  }

  @Override
  public void close() {
    closed = true;
    for (SoftMemoryRegion mr : regions) mr.deregister();
  }
}
