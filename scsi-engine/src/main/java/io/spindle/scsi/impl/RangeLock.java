package io.spindle.scsi.impl;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Keeps COMPARE AND WRITE (and the other read-modify-write and atomic commands) atomic against
 * every other write to the logical unit (SBC-4 5.3, 5.48).
 *
 * <p>Two kinds of holders. A command that must not interleave with other writers takes an
 * exclusive LBA range with {@link #acquire}; waiters are resumed through their futures, never by
 * blocking a thread. A plain write, which promises nothing to overlapping writes (SAM-5 §8.6:
 * SIMPLE tasks have no order), takes the shared fast path with {@link #tryWrite}: one atomic
 * increment while no exclusive range is held or waited for, no range recorded. An exclusive range
 * is granted only when no fast-path writer is in flight, and while one is held or waited for,
 * plain writes go through {@link #acquire} too; so every writer either finished before the
 * exclusive holder started or starts after it ends.
 */
final class RangeLock {

  /** In {@link #fast}: an exclusive range is held or waited for, the fast path is closed. */
  private static final int CLOSED = 1 << 30;
  private static final int COUNT = CLOSED - 1;

  private record Range(long start, long end) {
    boolean overlaps(long s, long e) {
      return s < end && start < e;
    }
  }

  private record Waiter(Range range, Promise<Runnable> promise) {
  }

  /** Fast-path writers in flight, plus {@link #CLOSED}. */
  private final AtomicInteger fast = new AtomicInteger();
  /** Guarded by {@code this}, as is {@link #waiters}. */
  private final List<Range> held = new ArrayList<>();
  private final Deque<Waiter> waiters = new ArrayDeque<>();

  /**
   * A plain write may go ahead now: true unless an exclusive range is held or waited for. The
   * caller must then call {@link #endWrite()} once its data is in the store; on false it takes
   * {@link #acquire} instead.
   */
  boolean tryWrite() {
    for (;;) {
      int s = fast.get();
      if ((s & CLOSED) != 0) return false;
      if (fast.compareAndSet(s, s + 1)) return true;
    }
  }

  /** A fast-path write is done; the last one out lets a waiting exclusive range in. */
  void endWrite() {
    if (fast.decrementAndGet() == CLOSED) {
      List<Waiter> granted;
      synchronized (this) {
        granted = grant();
      }
      complete(granted);
    }
  }

  /** Completes with the release action once {@code [lba, lba + blocks)} is exclusively held. */
  Future<Runnable> acquire(long lba, long blocks) {
    Range r = new Range(lba, lba + Math.max(blocks, 1));
    synchronized (this) {
      // Close the fast path first: a writer that got in before is counted and waited for.
      if ((fast.get() & CLOSED) == 0) fast.addAndGet(CLOSED);
      if (waiters.isEmpty() && free(r) && (fast.get() & COUNT) == 0) {
        held.add(r);
        return Future.succeededFuture(() -> release(r));
      }
      Promise<Runnable> p = Promise.promise();
      waiters.add(new Waiter(r, p));
      return p.future();
    }
  }

  private boolean free(Range r) {
    for (Range h : held) {
      if (h.overlaps(r.start, r.end)) return false;
    }
    return true;
  }

  /**
   * FIFO: grants waiters in order until one still conflicts, so writers do not starve; none
   * while fast-path writers are in flight. Reopens the fast path when nothing is left.
   */
  private List<Waiter> grant() {
    List<Waiter> granted = null;
    while (!waiters.isEmpty() && (fast.get() & COUNT) == 0 && free(waiters.peek().range)) {
      Waiter w = waiters.poll();
      held.add(w.range);
      if (granted == null) granted = new ArrayList<>();
      granted.add(w);
    }
    // CLOSED changes only under the monitor; an endWrite that raced a grant may find it clear.
    if (held.isEmpty() && waiters.isEmpty() && (fast.get() & CLOSED) != 0) fast.addAndGet(-CLOSED);
    return granted;
  }

  private void release(Range r) {
    List<Waiter> granted;
    synchronized (this) {
      held.remove(r);
      granted = grant();
    }
    complete(granted);
  }

  private void complete(List<Waiter> granted) {
    if (granted == null) return;
    for (Waiter w : granted) w.promise.complete(() -> release(w.range));
  }
}
