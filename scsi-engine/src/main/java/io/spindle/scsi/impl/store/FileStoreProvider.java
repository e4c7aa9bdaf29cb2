package io.spindle.scsi.impl.store;

import io.spindle.scsi.LunOptions;
import io.spindle.scsi.spi.store.BackingStore;
import io.spindle.scsi.spi.store.BackingStoreProvider;
import io.spindle.scsi.spi.store.BlockingStores;
import io.spindle.scsi.spi.store.StoreContext;
import io.spindle.scsi.spi.store.StoreOptions;
import io.vertx.core.Future;
import java.io.IOException;
import java.nio.file.Path;

/** {@code "backing": "file"} (the default): a regular file, {@code path} required. */
public final class FileStoreProvider implements BackingStoreProvider {

  @Override
  public String name() {
    return "file";
  }

  @Override
  public void validate(LunOptions lun, String where) {
    StoreOptions.only(lun, where, "path");
    String path = StoreOptions.string(lun, where, "path");
    if (path == null || path.isBlank()) throw new IllegalArgumentException(where + ".path: required for a file-backed LUN");
    StoreOptions.requireSize(lun, where);
  }

  @Override
  public Future<BackingStore> open(LunOptions lun, StoreContext ctx) {
    String path = lun.storeOptions().getString("path");
    return ctx.blocking(null, () -> {
      try {
        return BlockingStores.adapt(FileBackingStore.open(Path.of(path), lun.size(), lun.readOnly(), lun.thin()), ctx);
      } catch (IOException e) {
        throw new IllegalArgumentException("path: cannot open " + path + ": " + e, e);
      }
    });
  }

  @Override
  public String identity(LunOptions lun) {
    return lun.storeOptions().getString("path");
  }
}
