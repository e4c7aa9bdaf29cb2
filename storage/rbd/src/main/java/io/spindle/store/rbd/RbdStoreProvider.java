package io.spindle.store.rbd;

import io.spindle.scsi.LunOptions;
import io.spindle.scsi.spi.store.BackingStore;
import io.spindle.scsi.spi.store.BackingStoreProvider;
import io.spindle.scsi.spi.store.StoreContext;
import io.spindle.scsi.spi.store.StoreUnavailableException;
import io.vertx.core.Future;

/**
 * {@code "backing": "rbd"}: a Ceph RBD image through librbd's asynchronous API. Options:
 * {@code pool}, {@code image} (required), {@code namespace}, {@code cephConf}
 * (default {@value RbdConfig#DEFAULT_CEPH_CONF}), {@code user} (client id, default
 * {@value RbdConfig#DEFAULT_USER}), {@code keyring}, {@code create} (with {@code size}: create the
 * image when missing).
 */
public final class RbdStoreProvider implements BackingStoreProvider {

  @Override
  public String name() {
    return "rbd";
  }

  @Override
  public void validate(LunOptions lun, String where) {
    RbdConfig.of(lun, where);
  }

  @Override
  public Future<BackingStore> open(LunOptions lun, StoreContext ctx) {
    RbdConfig cfg = RbdConfig.of(lun, "lun");
    if (Librbd.LOAD_ERROR != null) {
      return Future.failedFuture(new StoreUnavailableException("rbd " + cfg.spec()
          + ": librbd is not available (install the Debian package librbd1): " + Librbd.LOAD_ERROR));
    }
    return ctx.blocking(null, () -> RbdBackingStore.open(cfg, ctx));
  }

  @Override
  public String identity(LunOptions lun) {
    return "rbd:" + RbdConfig.of(lun, "lun").spec();
  }
}
