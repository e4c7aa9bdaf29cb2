package io.spindle.rdma.disni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class BufferPoolTest {

  private final FakeVerbs verbs = new FakeVerbs(Verbs.Features.DISNI_2_1);
  private final Object pd = verbs.allocPd();
  private final BufferPool pool = new BufferPool(verbs, pd, 4096, 4, 8, Verbs.ACCESS_LOCAL_WRITE);

  @Test
  void buffersAreRegisteredOnceAndReused() {
    BufferPool.Buffer a = pool.take();
    assertEquals(4, verbs.registrations, "one growth registers buffersPerGrowth buffers");
    pool.give(a);
    for (int i = 0; i < 100; i++) pool.give(pool.take());
    assertEquals(4, verbs.registrations, "no registration once the pool is warm");
    assertSame(a, pool.take(), "the most recently returned buffer comes back first (warm in cache)");
  }

  @Test
  void everyBufferHasItsOwnKeysAndExactSize() {
    BufferPool.Buffer a = pool.take();
    BufferPool.Buffer b = pool.take();
    assertNotEquals(a.lkey(), b.lkey());
    assertEquals(4096, a.size());
    assertEquals(4096, a.mr().length());
    assertEquals(4096, Math.abs(b.address() - a.address()), "slices of one slab, back to back");
  }

  @Test
  void growsUpToTheMaximumThenRunsDry() {
    for (int i = 0; i < 8; i++) assertNotNull(pool.take());
    assertEquals(8, pool.registered());
    assertNull(pool.take(), "the ninth buffer is refused, not registered");
  }

  @Test
  void closeDeregistersEverything() {
    pool.take();
    pool.take();
    assertEquals(4, verbs.registeredRegions());
    pool.close();
    assertEquals(0, verbs.registeredRegions());
    assertThrows(IllegalStateException.class, pool::take);
  }
}
