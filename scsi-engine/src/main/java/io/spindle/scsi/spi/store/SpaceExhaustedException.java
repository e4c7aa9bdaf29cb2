package io.spindle.scsi.spi.store;

import java.io.IOException;

/**
 * The store has no room for a write (ENOSPC on a thin file, a full Ceph pool): DATA PROTECT,
 * SPACE ALLOCATION FAILED WRITE PROTECT (SBC-4 4.7.3.6.3, ASC/ASCQ 27h/07h), not a medium error.
 */
public final class SpaceExhaustedException extends IOException {

  public SpaceExhaustedException(String message, Throwable cause) {
    super(message, cause);
  }
}
