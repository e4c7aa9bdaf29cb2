package io.spindle.scsi.impl.store;

import io.spindle.scsi.LunOptions;
import io.spindle.scsi.spi.store.BackingStore;
import io.spindle.scsi.spi.store.BackingStoreProvider;
import io.spindle.scsi.spi.store.BlockingStore;
import io.spindle.scsi.spi.store.BlockingStores;
import io.spindle.scsi.spi.store.StoreContext;
import io.spindle.scsi.spi.store.StoreOptions;
import io.vertx.core.Future;
import java.util.function.LongFunction;

/** A store in this process that needs only a {@code size} and no options of its own (memory, null). */
abstract class InlineStoreProvider implements BackingStoreProvider {

  private final String name;
  private final LongFunction<BlockingStore> create;

  InlineStoreProvider(String name, LongFunction<BlockingStore> create) {
    this.name = name;
    this.create = create;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void validate(LunOptions lun, String where) {
    StoreOptions.only(lun, where);
    StoreOptions.requireSize(lun, where);
  }

  @Override
  public Future<BackingStore> open(LunOptions lun, StoreContext ctx) {
    return Future.succeededFuture(BlockingStores.adapt(create.apply(lun.size()), ctx));
  }
}
