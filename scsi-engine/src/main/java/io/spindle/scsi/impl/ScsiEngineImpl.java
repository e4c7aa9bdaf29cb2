package io.spindle.scsi.impl;

import io.spindle.scsi.LogicalUnit;
import io.spindle.scsi.LunOptions;
import io.spindle.scsi.ScsiEngine;
import io.spindle.scsi.ScsiTarget;
import io.spindle.scsi.spi.store.BackingStore;
import io.spindle.scsi.spi.store.BackingStoreProvider;
import io.spindle.scsi.spi.store.BackingStoreProviders;
import io.spindle.scsi.spi.store.ReservationStore;
import io.spindle.scsi.spi.store.StoreContext;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.Callable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The engine: one bounded storage worker pool shared by every logical unit, and the stores
 * opened through their {@link BackingStoreProvider}s.
 */
public final class ScsiEngineImpl implements ScsiEngine, StoreContext {

  private final Vertx vertx;
  private final WorkerExecutor worker;
  private final TransferBatcher transfers;
  private final List<LogicalUnitImpl> open = new CopyOnWriteArrayList<>();
  private volatile boolean closed;

  public ScsiEngineImpl(Vertx vertx, int workerThreads) {
    this.vertx = vertx;
    this.worker = vertx.createSharedWorkerExecutor("spindle-storage", Math.max(1, workerThreads));
    this.transfers = new TransferBatcher(worker);
  }

  WorkerExecutor worker() {
    return worker;
  }

  TransferBatcher transfers() {
    return transfers;
  }

  boolean closed() {
    return closed;
  }

  @Override
  public Vertx vertx() {
    return vertx;
  }

  /** StoreContext: blocking store work, batched per event-loop turn; {@code ctx} null completes anywhere. */
  @Override
  public <T> Future<T> blocking(Context ctx, Callable<T> work) {
    if (ctx == null) return worker.executeBlocking(work, false);
    return transfers.submit(ctx, work);
  }

  @Override
  public Future<LogicalUnit> openLogicalUnit(LunOptions o) {
    if (closed) return Future.failedFuture("SCSI engine closed");
    int bs = o.blockSize();
    if (bs != 512 && bs != 4096) return Future.failedFuture("blockSize: " + bs + " is not 512 or 4096");
    if (o.size() != 0 && (o.size() < bs || o.size() % bs != 0)) {
      return Future.failedFuture("size: " + o.size() + " is not a positive multiple of the block size " + bs);
    }
    BackingStoreProvider provider = BackingStoreProviders.find(o.backing());
    if (provider == null) {
      return Future.failedFuture("backing: \"" + o.backing() + "\" is not one of " + BackingStoreProviders.names());
    }
    try {
      provider.validate(o, "lun");
    } catch (IllegalArgumentException e) {
      // "lun.path: required ..." → "path: required ...": the caller names the LUN.
      return Future.failedFuture(e.getMessage().startsWith("lun.") ? e.getMessage().substring(4) : e.getMessage());
    }
    Future<BackingStore> opened;
    try {
      opened = provider.open(o, this);
    } catch (RuntimeException e) {
      opened = Future.failedFuture(e);
    }
    return opened.compose(store -> {
      if (store.size() < bs) {
        store.close();
        return Future.failedFuture("size: the store holds " + store.size() + " bytes, less than one block of " + bs);
      }
      ReservationStore reservations = store.reservations();
      return reservations.load(null).transform(ar -> {
        JsonObject saved = ar.succeeded() ? ar.result() : null;
        LogicalUnitImpl lu = new LogicalUnitImpl(this, o, provider.identity(o), store, reservations, saved);
        if (ar.failed()) lu.unreadableReservations(ar.cause());
        open.add(lu);
        return Future.succeededFuture((LogicalUnit) lu);
      });
    });
  }

  /**
   * The open logical unit whose NAA designator (VPD page 83h) equals {@code naa}, or null.
   * EXTENDED COPY names its copy targets this way (SPC-4 §6.4.5.7).
   */
  public LogicalUnitImpl logicalUnitByNaa(byte[] naa) {
    for (LogicalUnitImpl lu : open) {
      if (java.util.Arrays.equals(lu.naa(), naa)) return lu;
    }
    return null;
  }

  @Override
  public ScsiTarget createTarget(String name, Map<Integer, LogicalUnit> luns) {
    Map<Integer, LogicalUnitImpl> m = new HashMap<>();
    luns.forEach((n, lu) -> {
      if (n < 0 || n > 16383) throw new IllegalArgumentException("lun: " + n + " is not in 0..16383");
      m.put(n, (LogicalUnitImpl) lu);
    });
    return new ScsiTargetImpl(this, name, m);
  }

  /** A unit closed on its own (a reload retired it): the engine's stop no longer closes it. */
  void forget(LogicalUnitImpl lu) {
    open.remove(lu);
  }

  @Override
  public Future<Void> close() {
    closed = true;
    List<Future<?>> all = new ArrayList<>();
    for (LogicalUnitImpl lu : List.copyOf(open)) all.add(lu.close());
    open.clear();
    return Future.join(all).<Void>mapEmpty().eventually(() -> worker.close());
  }
}
