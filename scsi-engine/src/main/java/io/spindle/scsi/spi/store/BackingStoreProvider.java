package io.spindle.scsi.spi.store;

import io.spindle.scsi.LunOptions;
import io.vertx.core.Future;

/**
 * A kind of backing store, found by {@link java.util.ServiceLoader} and chosen by a LUN's
 * {@code "backing"} config value ({@link #name()}). Register an implementation in
 * {@code META-INF/services/io.spindle.scsi.spi.store.BackingStoreProvider}.
 */
public interface BackingStoreProvider {

  /** The {@code "backing"} value this provider serves: {@code file}, {@code memory}, {@code rbd}, ... */
  String name();

  /**
   * Checks the LUN's store options ({@link LunOptions#storeOptions()}: every config key that is
   * not a common LUN field) and the common ones this kind needs ({@code size}).
   *
   * @param where the JSON path of the LUN entry, for messages: {@code where + ".pool: required"}
   * @throws IllegalArgumentException naming the field and the problem
   */
  void validate(LunOptions lun, String where);

  /**
   * Opens the store. May be called on an event loop: anything blocking goes through
   * {@link StoreContext#blocking}. Fails with a message an administrator can act on.
   */
  Future<BackingStore> open(LunOptions lun, StoreContext ctx);

  /**
   * A stable name of the data (a path, pool/image), from which the engine derives the unit serial
   * number and NAA designator; null when the data has no identity beyond this process.
   */
  default String identity(LunOptions lun) {
    return null;
  }
}
