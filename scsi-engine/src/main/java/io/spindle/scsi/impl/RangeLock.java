package io.spindle.scsi.impl;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Serializes writers of overlapping LBA ranges so COMPARE AND WRITE is atomic against every
 * other write to the logical unit (SBC-4 5.3). The lock is held only for bookkeeping; waiters
 * are resumed through their futures, never by blocking a thread.
 */
final class RangeLock {

  private record Range(long start, long end) {
    boolean overlaps(long s, long e) {
      return s < end && start < e;
    }
  }

  private record Waiter(Range range, Promise<Runnable> promise) {
  }

  private final List<Range> held = new ArrayList<>();
  private final Deque<Waiter> waiters = new ArrayDeque<>();

  /** Completes with the release action once {@code [lba, lba + blocks)} is exclusively held. */
  Future<Runnable> acquire(long lba, long blocks) {
    Range r = new Range(lba, lba + Math.max(blocks, 1));
    synchronized (this) {
      if (waiters.isEmpty() && free(r)) {
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

  private void release(Range r) {
    List<Waiter> granted = null;
    synchronized (this) {
      held.remove(r);
      // FIFO: grant waiters in order until one still conflicts, so writers do not starve.
      while (!waiters.isEmpty() && free(waiters.peek().range)) {
        Waiter w = waiters.poll();
        held.add(w.range);
        if (granted == null) granted = new ArrayList<>();
        granted.add(w);
      }
    }
    if (granted == null) return;
    for (Waiter w : granted) w.promise.complete(() -> release(w.range));
  }
}
