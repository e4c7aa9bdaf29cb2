package io.spindle.scsi.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.scsi.LunOptions;
import io.spindle.scsi.ScsiStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A thin file LUN larger than its file system: once the file system is full a write fails with
 * DATA PROTECT / SPACE ALLOCATION FAILED WRITE PROTECT (SBC-4 4.7.3.6.3: 07h/27h/07h), not a
 * medium error, and everything written before reads back intact. The file system is a 1 MiB
 * tmpfs mounted for the test (needs root; skipped otherwise).
 */
class SpaceExhaustedTest extends EngineTestBase {

  private static Path mount;

  @BeforeAll
  static void mountSmallTmpfs() throws Exception {
    mount = Files.createTempDirectory("storage-enospc");
    Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mount.toString())
        .redirectErrorStream(true).start();
    boolean ok = p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    if (!ok) Files.deleteIfExists(mount);
    Assumptions.assumeTrue(ok, "cannot mount a tmpfs here (not root?): "
        + new String(p.getInputStream().readAllBytes()).trim());
  }

  @AfterAll
  static void unmount() throws Exception {
    if (mount == null || !Files.isDirectory(mount)) return;
    new ProcessBuilder("umount", mount.toString()).start().waitFor(30, TimeUnit.SECONDS);
    Files.deleteIfExists(mount);
  }

  @Override
  LunOptions options() {
    return LunOptions.file(mount.resolve("thin.img").toString(), 4L << 20);
  }

  @Test
  void fullFileSystemIsSpaceAllocationFailedAndEarlierDataSurvives() throws Exception {
    int chunkBlocks = 128; // 64 KiB per WRITE(10)
    Outcome failed = null;
    long lba = 0;
    for (; lba < 8192; lba += chunkBlocks) {
      Outcome o = run(N1, rw10(0x2A, lba, chunkBlocks), fill(chunkBlocks * 512, (int) (lba / chunkBlocks) + 1),
          chunkBlocks * 512, false);
      if (o.status() != ScsiStatus.GOOD) {
        failed = o;
        break;
      }
    }
    assertTrue(failed != null, "4 MiB of writes fit into a 1 MiB tmpfs?");
    assertCheck(failed, 0x07, 0x27);
    assertEquals(0x07, failed.sense()[0] == 0x72 ? failed.sense()[3] & 0xFF : failed.sense()[13] & 0xFF, "ASCQ");
    assertTrue(lba > 0, "the first write already failed");
    for (long at = 0; at < lba; at += chunkBlocks) {
      Outcome r = run(N1, rw10(0x28, at, chunkBlocks), null, chunkBlocks * 512, true);
      assertGood(r);
      assertArrayEquals(fill(chunkBlocks * 512, (int) (at / chunkBlocks) + 1), r.data(), "LBA " + at);
    }
  }
}
