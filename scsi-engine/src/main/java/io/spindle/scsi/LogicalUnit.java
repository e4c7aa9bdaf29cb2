package io.spindle.scsi;

import io.vertx.core.Future;

/** A logical unit (SBC direct-access block device) and its backing store. */
public interface LogicalUnit {

  LunOptions options();

  /** Capacity in logical blocks. */
  long blocks();

  int blockSize();

  /** Flushes and closes the backing store. */
  Future<Void> close();
}
