package io.spindle.scsi.spi.store;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

/**
 * Keeps a logical unit's persistent reservation state across restarts (SPC-4 §5.9.5, APTPL) and,
 * for a shared store, across gateways. The state is an opaque JSON object the engine produces.
 */
public interface ReservationStore {

  /** The saved state, or null when none is saved. */
  Future<JsonObject> load(Context ctx);

  /** Replaces the saved state; {@code state} null removes it. */
  Future<Void> save(Context ctx, JsonObject state);

  /**
   * True when other gateways may change the saved state (it lives in the shared store): the
   * engine then loads it before every PERSISTENT RESERVE IN and OUT.
   */
  default boolean shared() {
    return false;
  }

  /** Keeps nothing: reservations last as long as the process. */
  ReservationStore NONE = new ReservationStore() {
    @Override
    public Future<JsonObject> load(Context ctx) {
      return Future.succeededFuture();
    }

    @Override
    public Future<Void> save(Context ctx, JsonObject state) {
      return Future.succeededFuture();
    }
  };
}
