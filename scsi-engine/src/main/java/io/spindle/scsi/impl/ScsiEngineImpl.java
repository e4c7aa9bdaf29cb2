package io.spindle.scsi.impl;

import io.spindle.scsi.LogicalUnit;
import io.spindle.scsi.LunOptions;
import io.spindle.scsi.ScsiEngine;
import io.spindle.scsi.ScsiTarget;
import io.spindle.scsi.impl.store.BackingStore;
import io.spindle.scsi.impl.store.FileBackingStore;
import io.spindle.scsi.impl.store.MemoryBackingStore;
import io.spindle.scsi.impl.store.NullBackingStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/** The engine: one bounded storage worker pool shared by every logical unit. */
public final class ScsiEngineImpl implements ScsiEngine {

  private final WorkerExecutor worker;
  private final TransferBatcher transfers;
  private final List<LogicalUnitImpl> open = new CopyOnWriteArrayList<>();
  private volatile boolean closed;

  public ScsiEngineImpl(Vertx vertx, int workerThreads) {
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
  public Future<LogicalUnit> openLogicalUnit(LunOptions o) {
    if (closed) return Future.failedFuture("SCSI engine closed");
    int bs = o.blockSize();
    if (bs != 512 && bs != 4096) return Future.failedFuture("blockSize: " + bs + " is not 512 or 4096");
    if (o.size() < bs || o.size() % bs != 0) {
      return Future.failedFuture("size: " + o.size() + " is not a positive multiple of the block size " + bs);
    }
    if (o.backing() == LunOptions.Backing.FILE && (o.path() == null || o.path().isBlank())) {
      return Future.failedFuture("path: required for a file-backed LUN");
    }
    return worker.executeBlocking(() -> {
      BackingStore store;
      switch (o.backing()) {
        case FILE:
          try {
            store = FileBackingStore.open(Path.of(o.path()), o.size(), o.readOnly(), o.thin());
          } catch (java.io.IOException e) {
            throw new IllegalArgumentException("path: cannot open " + o.path() + ": " + e, e);
          }
          break;
        case MEMORY:
          store = new MemoryBackingStore(o.size());
          break;
        default:
          store = new NullBackingStore(o.size());
      }
      LogicalUnitImpl lu = new LogicalUnitImpl(this, o, store);
      open.add(lu);
      return (LogicalUnit) lu;
    }, false);
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
