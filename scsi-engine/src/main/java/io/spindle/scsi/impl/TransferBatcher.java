package io.spindle.scsi.impl;

import io.netty.util.concurrent.FastThreadLocal;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Hands READ and WRITE transfers to the storage workers in batches: the transfers an event loop
 * starts in one turn (a burst of commands from one socket read) go to a worker as one task, and
 * their outcomes come back to the event loop as one task. Each hand-off costs a queue hand-over
 * and often a thread wake-up both ways (about 1.3 futex calls per 4 KiB I/O on a file LUN when
 * every transfer was its own task). A batch runs its transfers one after another, so it is kept
 * short ({@link #MAX_BATCH}): a burst larger than that still spreads over several workers.
 */
final class TransferBatcher {

  /**
   * Transfers per worker task: 4 KiB transfers in the page cache take a few microseconds each,
   * so a batch is short; a QD32 burst still uses several workers.
   */
  static final int MAX_BATCH = 8;

  private static final class Entry {
    final Callable<?> work;
    final Promise<Object> promise = Promise.promise();
    final Context context;
    Object result;
    Throwable failure;

    Entry(Callable<?> work, Context context) {
      this.work = work;
      this.context = context;
    }

    void run() {
      try {
        result = work.call();
      } catch (Throwable e) {
        failure = e;
      }
    }

    void complete() {
      if (failure != null) promise.fail(failure);
      else promise.complete(result);
    }
  }

  /** The transfers an event loop has started this turn, not yet handed to a worker. */
  private static final class Pending {
    List<Entry> entries = new ArrayList<>(MAX_BATCH);
    boolean scheduled;
  }

  private final WorkerExecutor worker;
  private final FastThreadLocal<Pending> pending = new FastThreadLocal<>() {
    @Override
    protected Pending initialValue() {
      return new Pending();
    }
  };

  TransferBatcher(WorkerExecutor worker) {
    this.worker = worker;
  }

  /**
   * Runs {@code work} on a storage worker; the future completes on {@code context}. Called on
   * {@code context}'s event loop it joins the batch of this turn; from anywhere else it is a task
   * of its own.
   */
  @SuppressWarnings("unchecked")
  <T> Future<T> submit(Context context, Callable<T> work) {
    if (!context.isEventLoopContext() || Vertx.currentContext() != context) {
      return worker.executeBlocking(work, false);
    }
    Pending p = pending.get();
    Entry e = new Entry(work, context);
    p.entries.add(e);
    if (p.entries.size() >= MAX_BATCH) {
      flush(p);
    } else if (!p.scheduled) {
      // Runs after the rest of this turn's I/O: everything that arrives meanwhile joins.
      p.scheduled = true;
      context.runOnContext(v -> {
        p.scheduled = false;
        flush(p);
      });
    }
    return (Future<T>) e.promise.future();
  }

  private void flush(Pending p) {
    if (p.entries.isEmpty()) return;
    List<Entry> batch = p.entries;
    p.entries = new ArrayList<>(MAX_BATCH);
    worker.<Void>executeBlocking(() -> {
      for (Entry e : batch) e.run();
      return null;
    }, false).onComplete(ar -> {
      // On the submitting event loop; an entry from another context on it is completed there.
      Context here = Vertx.currentContext();
      for (Entry e : batch) {
        if (ar.failed() && e.failure == null && e.result == null) e.failure = ar.cause();
        if (e.context == here) e.complete();
        else e.context.runOnContext(v -> e.complete());
      }
    });
  }
}
