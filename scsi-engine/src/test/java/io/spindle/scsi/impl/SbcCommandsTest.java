package io.spindle.scsi.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.spindle.scsi.DataOutFailedException;
import org.junit.jupiter.api.Test;

class SbcCommandsTest extends EngineTestBase {

  @Test
  void writeThenReadBack() throws Exception {
    byte[] data = fill(1024, 0x5A);
    assertGood(run(N1, rw10(0x2A, 10, 2), data, 1024, false));
    Outcome r = run(N1, rw10(0x28, 10, 2), null, 1024, true);
    assertGood(r);
    assertArrayEquals(data, r.data());
    assertEquals(0, r.residual());
  }

  @Test
  void lastBlockOkAndPastEndOutOfRange() throws Exception {
    assertGood(run(N1, rw10(0x28, BLOCKS - 1, 1), null, 512, true));
    assertCheck(run(N1, rw10(0x28, BLOCKS, 1), null, 512, true), SenseData.ILLEGAL_REQUEST, 0x21);
    assertCheck(run(N1, rw16(0x88, BLOCKS - 1, 2), null, 1024, true), SenseData.ILLEGAL_REQUEST, 0x21);
    assertCheck(run(N1, rw16(0x88, -1L, 1), null, 512, true), SenseData.ILLEGAL_REQUEST, 0x21);
  }

  @Test
  void badWriteCdbPullsNoData() throws Exception {
    TestCommand cmd = new TestCommand(ctx, N1, 0, rw10(0x2A, BLOCKS, 1), fill(512, 1), 512, false);
    assertCheck(run(cmd), SenseData.ILLEGAL_REQUEST, 0x21);
    assertEquals(0, cmd.pulls);
  }

  @Test
  void dataOutLostInTheTransportIsAbortedCommandWithItsSense() throws Exception {
    TestCommand cmd = new TestCommand(ctx, N1, 0, rw10(0x2A, 0, 1), fill(512, 1), 512, false);
    cmd.dataOutFailure = new DataOutFailedException("digest", DataOutFailedException.PROTOCOL_SERVICE_CRC_ERROR);
    Outcome o = run(cmd);
    assertCheck(o, SenseData.ABORTED_COMMAND, 0x47);
    assertEquals(0x05, o.sense()[13], "ASCQ: PROTOCOL SERVICE CRC ERROR");
    cmd = new TestCommand(ctx, N1, 0, rw10(0x2A, 0, 1), fill(512, 1), 512, false);
    cmd.dataOutFailure = new DataOutFailedException("gone", DataOutFailedException.DATA_PHASE_ERROR);
    assertCheck(run(cmd), SenseData.ABORTED_COMMAND, 0x4B);
  }

  @Test
  void zeroLengthTransfersAreGood() throws Exception {
    assertGood(run(N1, rw10(0x28, 0, 0), null, 0, true));
    assertGood(run(N1, rw10(0x2A, 0, 0), null, 0, false));
  }

  @Test
  void rdprotectIsInvalidFieldWithPointer() throws Exception {
    byte[] c = rw10(0x28, 0, 1);
    c[1] = (byte) 0x20;
    Outcome o = run(N1, c, null, 512, true);
    assertCheck(o, SenseData.ILLEGAL_REQUEST, 0x24);
    assertEquals(0xCF, o.sense()[15] & 0xFF, "SKSV, C/D, BPV, bit 7");
    assertEquals(1, o.sense()[17]);
  }

  @Test
  void readResiduals() throws Exception {
    Outcome o = run(N1, rw10(0x28, 0, 1), null, 200, true);
    assertGood(o);
    assertEquals(200, o.data().length);
    assertEquals(200 - 512, o.residual());
    o = run(N1, rw10(0x28, 0, 1), null, 10000, true);
    assertEquals(512, o.data().length);
    assertEquals(10000 - 512, o.residual());
    o = run(N1, rw10(0x28, 0, 1), null, 0, true);
    assertGood(o);
    assertEquals(-512, o.residual());
  }

  @Test
  void writeWritesOnlyWhatBothAllow() throws Exception {
    assertGood(run(N1, rw10(0x2A, 0, 2), fill(1024, 'a'), 1024, false));
    Outcome o = run(N1, rw10(0x2A, 0, 2), fill(512, 'b'), 512, false);
    assertGood(o);
    assertEquals(-512, o.residual());
    o = run(N1, rw10(0x2A, 0, 1), fill(1024, 'c'), 1024, false);
    assertEquals(512, o.residual());
    byte[] back = run(N1, rw10(0x28, 0, 2), null, 1024, true).data();
    assertEquals('c', back[0]);
    assertEquals('a', back[600]);
  }

  @Test
  void verifyBytchkMiscompare() throws Exception {
    assertGood(run(N1, rw10(0x2A, 4, 1), fill(512, 7), 512, false));
    byte[] c = rw10(0x2F, 4, 1);
    c[1] = 0x02;
    assertGood(run(N1, c, fill(512, 7), 512, false));
    byte[] other = fill(512, 7);
    other[100] = 8;
    Outcome o = run(N1, c, other, 512, false);
    assertCheck(o, SenseData.MISCOMPARE, 0x1D);
    assertEquals(100, ((o.sense()[3] & 0xFF) << 24) | ((o.sense()[4] & 0xFF) << 16) | ((o.sense()[5] & 0xFF) << 8)
        | (o.sense()[6] & 0xFF));
  }

  @Test
  void compareAndWrite() throws Exception {
    assertGood(run(N1, rw10(0x2A, 8, 1), fill(512, 1), 512, false));
    byte[] c = cdb(0x89, 16);
    c[9] = 8;
    c[13] = 1;
    byte[] buf = new byte[1024];
    java.util.Arrays.fill(buf, 0, 512, (byte) 1);
    java.util.Arrays.fill(buf, 512, 1024, (byte) 2);
    assertGood(run(N1, c, buf, 1024, false));
    assertCheck(run(N1, c, buf, 1024, false), SenseData.MISCOMPARE, 0x1D);
    assertEquals(2, run(N1, rw10(0x28, 8, 1), null, 512, true).data()[0]);
  }

  @Test
  void writeSameUnmapAndGetLbaStatus() throws Exception {
    byte[] ws = rw16(0x93, 0, 256);
    assertGood(run(N1, ws, fill(512, 9), 512, false));
    assertEquals(9, run(N1, rw10(0x28, 255, 1), null, 512, true).data()[511]);
    ws[1] = 0x08;
    assertGood(run(N1, ws, new byte[512], 512, false));
    assertEquals(0, run(N1, rw10(0x28, 255, 1), null, 512, true).data()[511]);
    byte[] gls = rw16(0x9E, 0, 0);
    gls[1] = 0x12;
    gls[13] = 24;
    Outcome o = run(N1, gls, null, 24, true);
    assertGood(o);
    assertEquals(1, o.data()[20], "deallocated");
  }

  @Test
  void readCapacity() throws Exception {
    Outcome o = run(N1, cdb(0x25, 10), null, 8, true);
    assertGood(o);
    assertEquals(BLOCKS - 1, ((o.data()[2] & 0xFF) << 8) | (o.data()[3] & 0xFF));
    byte[] c = cdb(0x9E, 16);
    c[1] = 0x10;
    c[13] = 32;
    o = run(N1, c, null, 32, true);
    assertEquals(32, o.data().length);
    assertEquals(0x80, o.data()[14] & 0x80, "LBPME");
  }

  @Test
  void unsupportedOpcode() throws Exception {
    assertCheck(run(N1, cdb(0xC5, 10), null, 0, false), SenseData.ILLEGAL_REQUEST, 0x20);
  }

  @Test
  void unmapParameterList() throws Exception {
    assertGood(run(N1, rw10(0x2A, 0, 1), fill(512, 3), 512, false));
    byte[] param = new byte[24];
    param[1] = 22;
    param[3] = 16;
    param[19] = 1; // one block at LBA 0
    byte[] c = cdb(0x42, 10);
    c[8] = 24;
    assertGood(run(N1, c, param, 24, false));
    assertEquals(0, run(N1, rw10(0x28, 0, 1), null, 512, true).data()[0]);
  }
}
