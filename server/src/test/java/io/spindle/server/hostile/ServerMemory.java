package io.spindle.server.hostile;

import io.netty.util.internal.PlatformDependent;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;

/**
 * What the in-process server holds: the heap in use after a collection plus the direct memory
 * Netty allocated (its own counter when it tracks direct memory, otherwise the JVM's direct
 * buffer pool). The test's own clients run in the same JVM; their share is small and bounded.
 */
final class ServerMemory {

  private ServerMemory() {
  }

  static long heapAfterGc() {
    for (int i = 0; i < 2; i++) System.gc();
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  static long direct() {
    long netty = PlatformDependent.usedDirectMemory();
    long jvm = 0;
    for (BufferPoolMXBean b : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
      if (b.getName().equals("direct")) jvm = b.getMemoryUsed();
    }
    return Math.max(netty, 0) + jvm;
  }

  /** Heap after a collection plus direct memory, in bytes. */
  static long sample() {
    return heapAfterGc() + direct();
  }

  /** Heap after a collection and direct memory, for a report line. */
  static String describe() {
    return "heap " + mib(heapAfterGc()) + " + direct " + mib(direct()) + " (in buffers "
        + mib(io.netty.buffer.PooledByteBufAllocator.DEFAULT.pinnedDirectMemory()) + ")";
  }

  static String mib(long bytes) {
    return String.format("%.1f MiB", bytes / 1048576.0);
  }
}
