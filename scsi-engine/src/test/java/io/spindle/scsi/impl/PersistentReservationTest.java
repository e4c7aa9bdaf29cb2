package io.spindle.scsi.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.spindle.scsi.Nexus;
import io.spindle.scsi.ScsiStatus;
import org.junit.jupiter.api.Test;

class PersistentReservationTest extends EngineTestBase {

  private Outcome prout(Nexus n, int sa, int type, long key, long saKey) throws Exception {
    byte[] c = cdb(0x5F, 10);
    c[1] = (byte) sa;
    c[2] = (byte) type;
    c[8] = 24;
    byte[] p = new byte[24];
    for (int i = 0; i < 8; i++) {
      p[i] = (byte) (key >>> (56 - 8 * i));
      p[8 + i] = (byte) (saKey >>> (56 - 8 * i));
    }
    return run(n, c, p, 24, false);
  }

  private Outcome prin(Nexus n, int sa) throws Exception {
    byte[] c = cdb(0x5E, 10);
    c[1] = (byte) sa;
    c[8] = (byte) 255;
    return run(n, c, null, 255, true);
  }

  @Test
  void registerReserveAndAccess() throws Exception {
    assertGood(prout(N1, 0, 0, 0, 0xAAL));
    assertGood(prout(N2, 0, 0, 0, 0xBBL));
    Outcome keys = prin(N1, 0);
    assertEquals(16, keys.data()[7]);
    // Wrong key: conflict.
    assertEquals(ScsiStatus.RESERVATION_CONFLICT, prout(N1, 1, 3, 0xBBL, 0).status());
    assertGood(prout(N1, 1, 3, 0xAAL, 0)); // EXCLUSIVE ACCESS
    Outcome res = prin(N2, 1);
    assertEquals(16, res.data()[7]);
    assertEquals(3, res.data()[21] & 0x0F);
    assertEquals(ScsiStatus.RESERVATION_CONFLICT, run(N2, rw10(0x28, 0, 1), null, 512, true).status());
    assertGood(run(N1, rw10(0x28, 0, 1), null, 512, true));
    assertGood(run(N2, cdb(0x00, 6), null, 0, false));
    // Preempt the holder: N2 takes over, N1's registration goes with a unit attention.
    assertGood(prout(N2, 4, 1, 0xBBL, 0xAAL));
    assertCheck(run(N1, cdb(0x00, 6), null, 0, false), SenseData.UNIT_ATTENTION, 0x2A);
    assertEquals(ScsiStatus.RESERVATION_CONFLICT, run(N1, rw10(0x2A, 0, 1), fill(512, 0), 512, false).status());
    assertGood(run(N1, rw10(0x28, 0, 1), null, 512, true)); // WRITE EXCLUSIVE lets reads through
    assertGood(prout(N2, 2, 1, 0xBBL, 0));
    assertGood(run(N1, rw10(0x2A, 0, 1), fill(512, 0), 512, false));
  }

  @Test
  void badParameterListLength() throws Exception {
    byte[] c = cdb(0x5F, 10);
    c[8] = 20;
    assertCheck(run(N1, c, new byte[20], 20, false), SenseData.ILLEGAL_REQUEST, 0x1A);
  }

  @Test
  void reportCapabilities() throws Exception {
    Outcome o = prin(N1, 2);
    assertGood(o);
    assertEquals(8, o.data()[1]);
  }
}
