package io.spindle.scsi.impl;

import io.spindle.scsi.LogicalUnit;
import io.spindle.scsi.LunOptions;
import io.spindle.scsi.ScsiEngine;
import io.spindle.scsi.ScsiTarget;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.Map;

/** Placeholder until the engine lands; see the SCSI engine work item. */
public final class ScsiEngineImpl implements ScsiEngine {
  public ScsiEngineImpl(Vertx vertx, int workerThreads) {
  }

  @Override
  public Future<LogicalUnit> openLogicalUnit(LunOptions options) {
    return Future.failedFuture("not implemented");
  }

  @Override
  public ScsiTarget createTarget(String name, Map<Integer, LogicalUnit> luns) {
    throw new UnsupportedOperationException();
  }

  @Override
  public Future<Void> close() {
    return Future.succeededFuture();
  }
}
