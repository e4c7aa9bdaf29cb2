package io.spindle.scsi.impl.store;

import io.spindle.scsi.LunOptions;
import io.spindle.scsi.spi.store.BackingStore;
import io.spindle.scsi.spi.store.BackingStoreProvider;
import io.spindle.scsi.spi.store.BlockingStores;
import io.spindle.scsi.spi.store.StoreContext;
import io.spindle.scsi.spi.store.StoreOptions;
import io.vertx.core.Future;

/** {@code "backing": "memory"}: sparse, in this process's heap, gone at exit. */
public final class MemoryStoreProvider implements BackingStoreProvider {

  @Override
  public String name() {
    return "memory";
  }

  @Override
  public void validate(LunOptions lun, String where) {
    StoreOptions.only(lun, where);
    StoreOptions.requireSize(lun, where);
  }

  @Override
  public Future<BackingStore> open(LunOptions lun, StoreContext ctx) {
    return Future.succeededFuture(BlockingStores.adapt(new MemoryBackingStore(lun.size()), ctx));
  }
}
