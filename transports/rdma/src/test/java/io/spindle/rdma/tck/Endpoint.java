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
  public static final long WAIT_SECONDS = 10;

  public final RdmaConnection connection;
  public final BlockingQueue<WorkCompletion> completions = new LinkedBlockingQueue<>();
  public final BlockingQueue<ConnectionEvent> events = new LinkedBlockingQueue<>();

  /** Installs the handlers; call on the connection's context. */
  public Endpoint(RdmaConnection connection) {
    this.connection = connection;
    connection.completionHandler(completions::add);
    connection.eventHandler(events::add);
  }

  public WorkCompletion completion() {
    return take(completions, "work completion");
  }

  /** The next completion of this kind; others (flushed receives, say) are skipped. */
  public WorkCompletion completion(WorkCompletion.Opcode opcode) {
    while (true) {
      WorkCompletion wc = completion();
      if (wc.opcode() == opcode) return wc;
    }
  }

  public ConnectionEvent event() {
    return take(events, "connection event");
  }

  /** The next event that is not ESTABLISHED. */
  public ConnectionEvent endEvent() {
    while (true) {
      ConnectionEvent e = event();
      if (e.type() != ConnectionEvent.Type.ESTABLISHED) return e;
    }
  }

  /** Runs {@code action} on the connection's context and waits for it. */
  public void run(Runnable action) {
    on(connection.context(), () -> {
      action.run();
      return null;
    });
  }

  public static <T> T on(Context context, Supplier<T> action) {
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

  public static <T> T await(Future<T> future) {
    return join(future.toCompletionStage().toCompletableFuture());
  }

  public static <T> T join(CompletableFuture<T> f) {
    try {
      return f.get(WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof RuntimeException re) throw re;
      throw new AssertionError(e.getCause());
    } catch (Exception e) {
      throw new AssertionError("timed out or interrupted", e);
    }
  }

  public static <T> T take(BlockingQueue<T> queue, String what) {
    try {
      T t = queue.poll(WAIT_SECONDS, TimeUnit.SECONDS);
      assertNotNull(t, "no " + what + " within " + WAIT_SECONDS + " s");
      return t;
    } catch (InterruptedException e) {
      return fail(e);
    }
  }
}
