package io.spindle.initiator.leak;

import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class when Netty's leak detector reported a leaked ByteBuf while it ran (or, since
 * reports come when the garbage collector finds the buffer, shortly before). Registered for every
 * test class of this module through {@code META-INF/services} and JUnit's extension autodetection.
 *
 * <p>After the class, it collects garbage and allocates a few buffers: the detector reports what the
 * collector found on the next tracked allocation. Works with {@code -Dio.netty.leakDetection.level=paranoid}
 * (every buffer tracked), which the parent POM sets for all tests.
 */
public final class NoLeaksExtension implements AfterAllCallback {

  /** Bounded number of collect-and-allocate rounds; reference queues fill as the collector runs. */
  private static final int ROUNDS = 3;
  private static int reportedBefore;

  @Override
  public void afterAll(ExtensionContext context) {
    for (int i = 0; i < ROUNDS; i++) {
      System.gc();
      ByteBuf a = PooledByteBufAllocator.DEFAULT.directBuffer(16);
      ByteBuf b = UnpooledByteBufAllocator.DEFAULT.heapBuffer(16);
      a.release();
      b.release();
    }
    int now;
    synchronized (NoLeaksExtension.class) {
      now = LeakReportAppender.reports();
      int fresh = now - reportedBefore;
      reportedBefore = now;
      if (fresh == 0) return;
    }
    fail("Netty reported leaked ByteBufs during or just before " + context.getDisplayName() + " ("
        + now + " in this JVM); first report:\n" + LeakReportAppender.firstReport());
  }
}
