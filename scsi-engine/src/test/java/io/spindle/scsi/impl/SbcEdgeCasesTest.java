package io.spindle.scsi.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Edge cases of COMPARE AND WRITE, WRITE ATOMIC(16), WRITE SAME and Block Limits. */
class SbcEdgeCasesTest extends EngineTestBase {

  private static byte[] writeAtomic16(long lba, int blocks, int boundary) {
    byte[] c = cdb(0x9C, 16);
    for (int i = 0; i < 8; i++) c[2 + i] = (byte) (lba >>> (56 - 8 * i));
    c[10] = (byte) (boundary >>> 8);
    c[11] = (byte) boundary;
    c[12] = (byte) (blocks >>> 8);
    c[13] = (byte) blocks;
    return c;
  }

  @Test
  void compareAndWriteZeroBlocksWithDataOutIsInvalid() throws Exception {
    byte[] c = cdb(0x89, 16);
    c[13] = 0;
    assertCheck(run(N1, c, new byte[1024], 1024, false), SenseData.ILLEGAL_REQUEST, 0x24);
    assertGood(run(N1, c, null, 0, false));
  }

  @Test
  void writeAtomicWritesAndChecksItsFields() throws Exception {
    assertGood(run(N1, writeAtomic16(BLOCKS - 2, 2, 0), fill(1024, 0x3C), 1024, false));
    Outcome r = run(N1, rw10(0x28, BLOCKS - 2, 2), null, 1024, true);
    assertArrayEquals(fill(1024, 0x3C), r.data());
    assertGood(run(N1, writeAtomic16(0, 0, 0), null, 0, false));
    assertCheck(run(N1, writeAtomic16(BLOCKS - 1, 2, 0), fill(1024, 0), 1024, false), SenseData.ILLEGAL_REQUEST, 0x21);
    assertCheck(run(N1, writeAtomic16(0, 1, 1), fill(512, 0), 512, false), SenseData.ILLEGAL_REQUEST, 0x24);
    byte[] dpoFuaReserved = writeAtomic16(0, 1, 0);
    dpoFuaReserved[1] = 0x04;
    assertCheck(run(N1, dpoFuaReserved, fill(512, 0), 512, false), SenseData.ILLEGAL_REQUEST, 0x24);
  }

  @Test
  void writeSameZeroBlocksCountsToTheEnd() throws Exception {
    byte[] c = rw10(0x41, BLOCKS - 4, 0);
    assertGood(run(N1, c, fill(512, 0x11), 512, false));
    Outcome r = run(N1, rw10(0x28, BLOCKS - 4, 4), null, 2048, true);
    assertArrayEquals(fill(2048, 0x11), r.data());
    assertCheck(run(N1, rw10(0x41, BLOCKS, 1), fill(512, 0), 512, false), SenseData.ILLEGAL_REQUEST, 0x21);
  }

  @Test
  void blockLimitsReportAtomicAndUnmapLimits() throws Exception {
    byte[] inq = cdb(0x12, 6);
    inq[1] = 1;
    inq[2] = (byte) 0xB0;
    inq[4] = 64;
    byte[] d = run(N1, inq, null, 64, true).data();
    assertEquals(0x3C, d[3]);
    int maxUnmap = ((d[20] & 0xFF) << 24) | ((d[21] & 0xFF) << 16) | ((d[22] & 0xFF) << 8) | (d[23] & 0xFF);
    assertEquals(1 << 20, maxUnmap);
    int maxAtomic = ((d[44] & 0xFF) << 24) | ((d[45] & 0xFF) << 16) | ((d[46] & 0xFF) << 8) | (d[47] & 0xFF);
    assertEquals(2048, maxAtomic);
  }
}
