package io.spindle.scsi.spi.store;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.concurrent.Callable;

/** What the engine gives a provider opening a store. */
public interface StoreContext {

  Vertx vertx();

  /**
   * Runs blocking {@code work} on the engine's bounded storage worker pool; the future completes
   * on {@code ctx}. Work started from {@code ctx}'s event loop in one turn goes to a worker as
   * one batch (fewer thread hand-overs per I/O).
   */
  <T> Future<T> blocking(Context ctx, Callable<T> work);
}
