package io.spindle.scsi.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.scsi.ScsiStatus;
import org.junit.jupiter.api.Test;

class SpcCommandsTest extends EngineTestBase {

  static byte[] inquiry(boolean evpd, int page, int alloc) {
    byte[] c = cdb(0x12, 6);
    c[1] = (byte) (evpd ? 1 : 0);
    c[2] = (byte) page;
    c[4] = (byte) alloc;
    return c;
  }

  @Test
  void standardInquiry() throws Exception {
    Outcome o = run(N1, inquiry(false, 0, 96), null, 96, true);
    assertGood(o);
    assertEquals(0, o.data()[0]);
    assertEquals(96 - 5, o.data()[4]);
    assertEquals("SPINDLE ", new String(o.data(), 8, 8, "US-ASCII"));
  }

  @Test
  void inquiryAllocationLengthTruncates() throws Exception {
    Outcome o = run(N1, inquiry(false, 0, 36), null, 255, true);
    assertEquals(36, o.data().length);
    assertEquals(255 - 36, o.residual());
  }

  @Test
  void vpdPages() throws Exception {
    Outcome o = run(N1, inquiry(true, 0, 255), null, 255, true);
    assertEquals(7, o.data()[3]);
    for (int i = 4; i < 11; i++) {
      int page = o.data()[i] & 0xFF;
      Outcome p = run(N1, inquiry(true, page, 255), null, 255, true);
      assertGood(p);
      assertEquals(page, p.data()[1] & 0xFF);
    }
    Outcome id = run(N1, inquiry(true, 0x83, 255), null, 255, true);
    assertEquals(0x03, id.data()[5] & 0x0F, "first designator is NAA");
    assertEquals(6, (id.data()[8] & 0xF0) >> 4, "NAA 6");
    assertCheck(run(N1, inquiry(true, 0x99, 255), null, 255, true), SenseData.ILLEGAL_REQUEST, 0x24);
    assertCheck(run(N1, inquiry(false, 0x80, 255), null, 255, true), SenseData.ILLEGAL_REQUEST, 0x24);
  }

  @Test
  void unknownLun() throws Exception {
    Outcome o = run(new TestCommand(ctx, N1, 5, inquiry(false, 0, 96), null, 96, true));
    assertGood(o);
    assertEquals(0x7F, o.data()[0]);
    assertCheck(run(new TestCommand(ctx, N1, 5, cdb(0x00, 6), null, 0, false)), SenseData.ILLEGAL_REQUEST, 0x25);
    byte[] rl = cdb(0xA0, 12);
    rl[9] = 16;
    assertGood(run(new TestCommand(ctx, N1, 5, rl, null, 16, true)));
  }

  @Test
  void reportLuns() throws Exception {
    byte[] c = cdb(0xA0, 12);
    c[9] = (byte) 64;
    Outcome o = run(N1, c, null, 64, true);
    assertGood(o);
    assertEquals(8, o.data()[3]);
    c[9] = 8;
    assertCheck(run(N1, c, null, 8, true), SenseData.ILLEGAL_REQUEST, 0x24);
  }

  @Test
  void lunAddressing() {
    assertEquals(5, LunAddressing.decode(LunAddressing.encode(5)));
    assertEquals(300, LunAddressing.decode(LunAddressing.encode(300)));
    assertEquals(0x4000_0000_0000_0000L | (300L & 0xFF) << 48 | 1L << 56, LunAddressing.encode(300));
    assertEquals(-1, LunAddressing.decode(0x0000_0000_0000_0001L));
  }

  @Test
  void aUnitClosesOnceHoweverOftenItIsClosed() throws Exception {
    // A reload retires a unit and closes it; the engine's stop (tearDown) must not close it again.
    await(lu.close());
    await(lu.close());
    assertTrue(lu.close().succeeded());
  }

  @Test
  void newNexusStartsWithoutUnitAttentionAndSeesLaterOnesOnce() throws Exception {
    var n3 = new io.spindle.scsi.Nexus("iqn.i3", "iqn.i3,i,0x3", "iqn.t,t,0x1", 1);
    assertGood(run(n3, cdb(0x00, 6), null, 0, false));
    ((LogicalUnitImpl) lu).capacityChanged(BLOCKS);
    // INQUIRY neither reports nor consumes it (SAM-5 §5.14); the next command reports it once.
    assertGood(run(n3, inquiry(false, 0, 36), null, 36, true));
    assertCheck(run(n3, cdb(0x00, 6), null, 0, false), SenseData.UNIT_ATTENTION, 0x2A);
    assertGood(run(n3, cdb(0x00, 6), null, 0, false));
  }

  @Test
  void modeSenseLayouts() throws Exception {
    byte[] c = cdb(0x1A, 6);
    c[2] = 0x3F;
    c[4] = (byte) 255;
    Outcome o = run(N1, c, null, 255, true);
    assertGood(o);
    assertEquals(8, o.data()[3], "block descriptor length");
    assertEquals(o.data().length - 1, o.data()[0] & 0xFF);
    assertEquals(0x08, o.data()[12] & 0x3F, "caching page first");
    c[1] = 0x08; // DBD
    o = run(N1, c, null, 255, true);
    assertEquals(0, o.data()[3]);
    byte[] ten = cdb(0x5A, 10);
    ten[1] = 0x10; // LLBAA
    ten[2] = 0x0A;
    ten[8] = (byte) 255;
    o = run(N1, ten, null, 255, true);
    assertEquals(1, o.data()[4] & 1, "LONGLBA");
    assertEquals(16, o.data()[7]);
    assertEquals(0x0A, o.data()[24]);
    c[2] = (byte) 0xC8; // saved values
    assertCheck(run(N1, c, null, 255, true), SenseData.ILLEGAL_REQUEST, 0x39);
  }

  @Test
  void modeSelectDSenseSwitchesToDescriptorSense() throws Exception {
    byte[] param = new byte[4 + 12];
    param[4] = 0x0A;
    param[5] = 0x0A;
    param[6] = 0x04; // D_SENSE
    byte[] c = cdb(0x15, 6);
    c[1] = 0x10;
    c[4] = (byte) param.length;
    assertGood(run(N1, c, param, param.length, false));
    Outcome o = run(N1, rw10(0x28, BLOCKS, 1), null, 512, true);
    assertEquals(0x72, o.sense()[0]);
    assertEquals(0x21, o.asc());
    // The other nexus is told that mode parameters changed.
    assertCheck(run(N2, cdb(0x00, 6), null, 0, false), SenseData.UNIT_ATTENTION, 0x2A);
  }

  @Test
  void swpWriteProtects() throws Exception {
    byte[] param = new byte[4 + 12];
    param[4] = 0x0A;
    param[5] = 0x0A;
    param[8] = 0x08; // SWP
    byte[] c = cdb(0x15, 6);
    c[1] = 0x10;
    c[4] = (byte) param.length;
    assertGood(run(N1, c, param, param.length, false));
    assertCheck(run(N1, rw10(0x2A, 0, 1), fill(512, 1), 512, false), SenseData.DATA_PROTECT, 0x27);
  }

  @Test
  void requestSenseReportsUnitAttention() throws Exception {
    var n5 = new io.spindle.scsi.Nexus("iqn.i5", "iqn.i5,i,0x5", "iqn.t,t,0x1", 1);
    byte[] c = cdb(0x03, 6);
    c[4] = 18;
    assertGood(run(n5, cdb(0x00, 6), null, 0, false));
    ((LogicalUnitImpl) lu).capacityChanged(BLOCKS);
    Outcome o = run(n5, c, null, 18, true);
    assertGood(o);
    assertEquals(SenseData.UNIT_ATTENTION, o.data()[2] & 0x0F);
    o = run(n5, c, null, 18, true);
    assertEquals(0, o.data()[2] & 0x0F);
  }

  @Test
  void reserveConflicts() throws Exception {
    assertGood(run(N1, cdb(0x16, 6), null, 0, false));
    assertEquals(ScsiStatus.RESERVATION_CONFLICT, run(N2, cdb(0x00, 6), null, 0, false).status());
    assertGood(run(N2, inquiry(false, 0, 36), null, 36, true));
    assertGood(run(N1, cdb(0x17, 6), null, 0, false));
    assertGood(run(N2, cdb(0x00, 6), null, 0, false));
  }

  @Test
  void reportSupportedOpcodes() throws Exception {
    byte[] c = cdb(0xA3, 12);
    c[1] = 0x0C;
    c[8] = 0x10;
    Outcome o = run(N1, c, null, 4096, true);
    assertGood(o);
    assertTrue(o.data().length > 8 * 30);
    c[2] = 1;
    c[3] = 0x28;
    o = run(N1, c, null, 4096, true);
    assertEquals(3, o.data()[1] & 7);
    assertEquals(10, o.data()[3]);
  }

  @Test
  void controlByteNacaRejected() throws Exception {
    byte[] c = cdb(0x00, 6);
    c[5] = 0x04;
    assertCheck(run(N1, c, null, 0, false), SenseData.ILLEGAL_REQUEST, 0x24);
  }
}
