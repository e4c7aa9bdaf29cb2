package io.spindle.scsi;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.Map;

/**
 * The SCSI engine of one server: a bounded worker pool for storage I/O, and the logical units
 * and targets built on it. Created once at start; {@link #close()} flushes and closes every
 * backing store.
 */
public interface ScsiEngine {

  /** Default number of storage worker threads. */
  int DEFAULT_WORKER_THREADS = 8;

  static ScsiEngine create(Vertx vertx, int workerThreads) {
    return new io.spindle.scsi.impl.ScsiEngineImpl(vertx, workerThreads);
  }

  /** Opens (creating if needed) a logical unit's backing store. Fails with a message naming the bad option. */
  Future<LogicalUnit> openLogicalUnit(LunOptions options);

  /** A target exposing the given logical units under the given LUN numbers. */
  ScsiTarget createTarget(String name, Map<Integer, LogicalUnit> luns);

  /** Completes when every open logical unit has been flushed and closed. */
  Future<Void> close();
}
