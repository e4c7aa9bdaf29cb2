package io.spindle.rdma.tck;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import io.spindle.rdma.ConnectionEvent;
import io.spindle.rdma.RdmaConnection;
import io.spindle.rdma.WorkCompletion;
import io.vertx.core.Context;
import io.vertx.core.Future;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * One side of a TCK connection, driven from the test thread: calls run on the connection's
 * context, completions and events are queued for the test to take.
 */
public final class Endpoint {

  /** A safety net against hangs, not a timing assertion. */
  static final long WAIT_SECONDS = 10;

  final RdmaConnection connection;
  final BlockingQueue<WorkCompletion> completions = new LinkedBlockingQueue<>();
  final BlockingQueue<ConnectionEvent> events = new LinkedBlockingQueue<>();

  /** Installs the handlers; call on the connection's context. */
  Endpoint(RdmaConnection connection) {
    this.connection = connection;
    connection.completionHandler(completions::add);
    connection.eventHandler(events::add);
  }

  WorkCompletion completion() {
    return take(completions, "work completion");
  }

  /** The next completion of this kind; others (flushed receives, say) are skipped. */
  WorkCompletion completion(WorkCompletion.Opcode opcode) {
    while (true) {
      WorkCompletion wc = completion();
      if (wc.opcode() == opcode) return wc;
    }
  }

  ConnectionEvent event() {
    return take(events, "connection event");
  }

  /** The next event that is not ESTABLISHED. */
  ConnectionEvent endEvent() {
    while (true) {
      ConnectionEvent e = event();
      if (e.type() != ConnectionEvent.Type.ESTABLISHED) return e;
    }
  }

  /** Runs {@code action} on the connection's context and waits for it. */
  void run(Runnable action) {
    on(connection.context(), () -> {
      action.run();
      return null;
    });
  }

  static <T> T on(Context context, Supplier<T> action) {
    CompletableFuture<T> f = new CompletableFuture<>();
    context.runOnContext(v -> {
      try {
        f.complete(action.get());
      } catch (Throwable t) {
        f.completeExceptionally(t);
      }
    });
    return join(f);
  }

  static <T> T await(Future<T> future) {
    return join(future.toCompletionStage().toCompletableFuture());
  }

  static <T> T join(CompletableFuture<T> f) {
    try {
      return f.get(WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof RuntimeException re) throw re;
      throw new AssertionError(e.getCause());
    } catch (Exception e) {
      throw new AssertionError("timed out or interrupted", e);
    }
  }

  static <T> T take(BlockingQueue<T> queue, String what) {
    try {
      T t = queue.poll(WAIT_SECONDS, TimeUnit.SECONDS);
      assertNotNull(t, "no " + what + " within " + WAIT_SECONDS + " s");
      return t;
    } catch (InterruptedException e) {
      return fail(e);
    }
  }
}
