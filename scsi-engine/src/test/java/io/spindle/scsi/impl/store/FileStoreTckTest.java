package io.spindle.scsi.impl.store;

import io.spindle.scsi.LunOptions;
import io.spindle.scsi.spi.store.tck.BackingStoreTck;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The backing-store TCK on {@code "backing": "file"}. */
class FileStoreTckTest extends BackingStoreTck {

  @TempDir
  Path dir;

  @Override
  protected LunOptions lun(long size) {
    return LunOptions.file(dir.resolve("tck.img").toString(), size);
  }

  @Override
  protected boolean persistent() {
    return true;
  }
}
