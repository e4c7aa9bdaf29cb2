package io.spindle.scsi.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.scsi.LunOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code thin: false}: the file is preallocated and the LU reports no logical block provisioning. */
class FullyProvisionedFileTest extends EngineTestBase {

  @TempDir
  Path dir;

  @Override
  LunOptions options() {
    return LunOptions.file(dir.resolve("full.img").toString(), BLOCKS * 512L).thin(false);
  }

  @Test
  void preallocatedAndUnmapUnsupported() throws Exception {
    Process p = new ProcessBuilder("stat", "-c", "%b", dir.resolve("full.img").toString()).start();
    long allocated = Long.parseLong(new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim());
    assertEquals(0, p.waitFor());
    assertTrue(allocated >= BLOCKS, "every block allocated: " + allocated);
    byte[] c = cdb(0x42, 10);
    c[8] = 24;
    assertCheck(run(N1, c, new byte[24], 24, false), SenseData.ILLEGAL_REQUEST, 0x20);
    byte[] ws = rw10(0x41, 0, 1);
    ws[1] = 0x08;
    assertCheck(run(N1, ws, new byte[512], 512, false), SenseData.ILLEGAL_REQUEST, 0x24);
    byte[] rc = cdb(0x9E, 16);
    rc[1] = 0x10;
    rc[13] = 32;
    assertEquals(0, run(N1, rc, null, 32, true).data()[14] & 0xC0, "LBPME=0, LBPRZ=0");
  }
}
