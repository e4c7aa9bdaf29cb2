package io.spindle.initiator;

import io.vertx.core.Future;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Blocking waits for tests and tools running on plain threads. Never call these on a Vert.x
 * event loop: the completion runs there. ({@code future.await(30, SECONDS)} of Vert.x 5 does the
 * same from a non-Vert.x thread, with checked exceptions.)
 */
public final class Await {

  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

  private Await() {
  }

  public static <T> T result(Future<T> future) {
    return result(future, DEFAULT_TIMEOUT);
  }

  /** The future's value; its failure rethrown unchecked; {@link RequestTimeoutException} after {@code timeout}. */
  public static <T> T result(Future<T> future, Duration timeout) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException re) throw re;
      if (cause instanceof Error err) throw err;
      throw new IscsiInitiatorException(String.valueOf(cause.getMessage()), cause);
    } catch (TimeoutException e) {
      throw new RequestTimeoutException("no result within " + timeout);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IscsiInitiatorException("interrupted while waiting", e);
    }
  }
}
