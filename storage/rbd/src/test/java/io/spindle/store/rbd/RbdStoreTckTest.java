package io.spindle.store.rbd;

import io.spindle.scsi.LunOptions;
import io.spindle.scsi.spi.store.tck.BackingStoreTck;
import org.junit.jupiter.api.BeforeAll;

/**
 * The backing-store TCK on {@code "backing": "rbd"}, against the one-node Ceph of
 * {@code ops/ceph/dev-cluster.sh} (started when needed; skipped with the reason when it cannot).
 * Each test gets a fresh image.
 */
class RbdStoreTckTest extends BackingStoreTck {

  private final String image = "tck-" + Long.toHexString(System.nanoTime());

  @BeforeAll
  static void ceph() {
    DevCluster.assumeRunning();
  }

  @Override
  protected LunOptions lun(long size) {
    return DevCluster.lun(image, size);
  }

  @Override
  protected boolean persistent() {
    return true;
  }
}
