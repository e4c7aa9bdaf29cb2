package io.spindle.scsi.impl.store;

import io.spindle.scsi.LunOptions;
import io.spindle.scsi.spi.store.tck.BackingStoreTck;

/** The backing-store TCK on {@code "backing": "memory"}. */
class MemoryStoreTckTest extends BackingStoreTck {

  @Override
  protected LunOptions lun(long size) {
    return LunOptions.memory(size);
  }
}
