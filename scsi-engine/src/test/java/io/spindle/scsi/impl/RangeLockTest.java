package io.spindle.scsi.impl;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import org.junit.jupiter.api.Test;

/** The writers' lock: plain writes on the fast path, exclusive ranges (COMPARE AND WRITE) against all. */
class RangeLockTest {

  @Test
  void exclusiveRangeWaitsForPlainWritesInFlightAndClosesTheFastPath() {
    RangeLock lock = new RangeLock();
    assertTrue(lock.tryWrite());
    assertTrue(lock.tryWrite());
    Future<Runnable> caw = lock.acquire(100, 1);
    // SBC-4 5.3: the compare may not start while a write that began earlier is still going.
    assertFalse(caw.isComplete());
    // Nor may a write start while it waits or runs: later writers queue behind it.
    assertFalse(lock.tryWrite());
    lock.endWrite();
    assertFalse(caw.isComplete());
    lock.endWrite();
    assertTrue(caw.succeeded());
    assertFalse(lock.tryWrite());
    Future<Runnable> queued = lock.acquire(0, 8);
    assertTrue(queued.succeeded(), "a range apart from the held one is granted at once");
    queued.result().run();
    caw.result().run();
    assertTrue(lock.tryWrite(), "fast path open again once no range is held");
    lock.endWrite();
  }

  @Test
  void overlappingExclusiveRangesAreGrantedInOrder() {
    RangeLock lock = new RangeLock();
    Future<Runnable> first = lock.acquire(10, 4);
    Future<Runnable> second = lock.acquire(12, 4);
    Future<Runnable> third = lock.acquire(40, 1);
    assertTrue(first.succeeded());
    assertFalse(second.isComplete());
    // FIFO: a later range waits behind an earlier waiter even when it is free, so none starves.
    assertFalse(third.isComplete());
    first.result().run();
    assertTrue(second.succeeded());
    assertTrue(third.succeeded());
    assertFalse(lock.tryWrite());
    second.result().run();
    assertFalse(lock.tryWrite());
    third.result().run();
    assertTrue(lock.tryWrite());
    lock.endWrite();
  }

  @Test
  void lastPlainWriteOutLetsEveryCompatibleWaiterIn() {
    RangeLock lock = new RangeLock();
    assertTrue(lock.tryWrite());
    Future<Runnable> a = lock.acquire(0, 1);
    Future<Runnable> b = lock.acquire(5, 1);
    assertFalse(a.isComplete());
    assertFalse(b.isComplete());
    lock.endWrite();
    assertTrue(a.succeeded());
    assertTrue(b.succeeded());
    b.result().run();
    a.result().run();
    assertTrue(lock.tryWrite());
    lock.endWrite();
  }
}
