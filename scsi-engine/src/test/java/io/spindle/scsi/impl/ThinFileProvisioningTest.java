package io.spindle.scsi.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.scsi.LunOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** UNMAP and WRITE SAME with UNMAP really give blocks back to the file system (SBC-4 4.7.3). */
class ThinFileProvisioningTest extends EngineTestBase {

  @TempDir
  Path dir;

  @Override
  LunOptions options() {
    return LunOptions.file(dir.resolve("lun.img").toString(), BLOCKS * 512L);
  }

  /** Allocated 512-byte units of the file, as du counts them. */
  private long allocatedBlocks() throws Exception {
    Process p = new ProcessBuilder("stat", "-c", "%b", dir.resolve("lun.img").toString()).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
    assertEquals(0, p.waitFor());
    return Long.parseLong(out);
  }

  private void writeAll() throws Exception {
    assertGood(run(N1, rw10(0x2A, 0, 512), fill(512 * 512, 0x77), 512 * 512, false));
    assertGood(run(N1, rw10(0x35, 0, 0), null, 0, false)); // SYNCHRONIZE CACHE
  }

  private static byte[] unmapList(long lba, int blocks) {
    byte[] p = new byte[24];
    p[1] = 22;
    p[3] = 16;
    for (int i = 0; i < 8; i++) p[8 + i] = (byte) (lba >>> (56 - 8 * i));
    p[16] = (byte) (blocks >>> 24);
    p[17] = (byte) (blocks >>> 16);
    p[18] = (byte) (blocks >>> 8);
    p[19] = (byte) blocks;
    return p;
  }

  private Outcome getLbaStatus(long lba) throws Exception {
    byte[] c = cdb(0x9E, 16);
    c[1] = 0x12;
    for (int i = 0; i < 8; i++) c[2 + i] = (byte) (lba >>> (56 - 8 * i));
    c[13] = 64;
    return run(N1, c, null, 64, true);
  }

  @Test
  void unmapPunchesAHoleAndTheRangeReadsAsZeros() throws Exception {
    writeAll();
    long before = allocatedBlocks();
    assertTrue(before >= 512, "written data is allocated: " + before);
    byte[] c = cdb(0x42, 10);
    c[8] = 24;
    assertGood(run(N1, c, unmapList(0, 256), 24, false));
    long after = allocatedBlocks();
    assertTrue(after <= before - 256, "allocation shrank by the unmapped 128 KiB: " + before + " -> " + after);
    Outcome read = run(N1, rw10(0x28, 0, 256), null, 256 * 512, true);
    assertGood(read);
    assertArrayEquals(new byte[256 * 512], read.data());
    // GET LBA STATUS: a deallocated run from 0, then the mapped rest of what was written.
    Outcome s = getLbaStatus(0);
    assertGood(s);
    assertEquals(1, s.data()[8 + 12], "first descriptor deallocated");
    assertEquals(256, ((s.data()[8 + 10] & 0xFF) << 8) | (s.data()[8 + 11] & 0xFF));
    assertEquals(0, s.data()[24 + 12], "second descriptor mapped");
  }

  @Test
  void writeSameWithUnmapDeallocatesWhateverTheDataBlock() throws Exception {
    writeAll();
    long before = allocatedBlocks();
    byte[] c = rw10(0x41, 0, 256);
    c[1] = 0x08; // UNMAP
    assertGood(run(N1, c, fill(512, 0xFF), 512, false));
    assertTrue(allocatedBlocks() <= before - 256);
    Outcome read = run(N1, rw10(0x28, 0, 8), null, 8 * 512, true);
    assertArrayEquals(new byte[8 * 512], read.data());
  }

  @Test
  void capacityAndVpdAgreeOnThinProvisioning() throws Exception {
    byte[] c = cdb(0x9E, 16);
    c[1] = 0x10;
    c[13] = 32;
    Outcome rc = run(N1, c, null, 32, true);
    assertGood(rc);
    assertEquals(0, rc.data()[13] & 0x0F, "LBPPB exponent: one logical block per physical block");
    assertEquals(0xC0, rc.data()[14] & 0xC0, "LBPME and LBPRZ");
    byte[] inq = cdb(0x12, 6);
    inq[1] = 1;
    inq[2] = (byte) 0xB2;
    inq[4] = 8;
    Outcome lbp = run(N1, inq, null, 8, true);
    assertEquals(0xE4, lbp.data()[5] & 0xFF, "LBPU, LBPWS, LBPWS10, LBPRZ=1");
    assertEquals(0x02, lbp.data()[6] & 0x07, "provisioning type thin");
  }

  @Test
  void getLbaStatusBeyondTheEndAndAtTwoToTheSixtyThird() throws Exception {
    assertCheck(getLbaStatus(BLOCKS), SenseData.ILLEGAL_REQUEST, 0x21);
    assertCheck(getLbaStatus(Long.MIN_VALUE), SenseData.ILLEGAL_REQUEST, 0x21);
    assertCheck(getLbaStatus(-1L), SenseData.ILLEGAL_REQUEST, 0x21);
    Outcome last = getLbaStatus(BLOCKS - 1);
    assertGood(last);
    assertEquals(1, last.data()[8 + 12], "never written: deallocated");
  }
}
