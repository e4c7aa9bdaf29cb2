package io.spindle.scsi.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.spindle.scsi.LunOptions;
import org.junit.jupiter.api.Test;

/** SBC-4 4.17 removable medium: START STOP UNIT load/eject, PREVENT ALLOW, MEDIUM NOT PRESENT. */
class RemovableMediumTest extends EngineTestBase {

  @Override
  LunOptions options() {
    return LunOptions.memory(BLOCKS * 512L).removable(true);
  }

  private Outcome startStop(boolean loej, boolean start) throws Exception {
    byte[] c = cdb(0x1B, 6);
    c[4] = (byte) ((loej ? 2 : 0) | (start ? 1 : 0));
    return run(N1, c, null, 0, false);
  }

  private Outcome prevent(Nexusish who, boolean on) throws Exception {
    byte[] c = cdb(0x1E, 6);
    c[4] = (byte) (on ? 1 : 0);
    return run(who.n, c, null, 0, false);
  }

  private record Nexusish(io.spindle.scsi.Nexus n) {
  }

  @Test
  void ejectLoadAndMediumNotPresent() throws Exception {
    byte[] inq = cdb(0x12, 6);
    inq[4] = 36;
    assertEquals(0x80, run(N1, inq, null, 36, true).data()[1] & 0x80, "RMB");
    assertGood(startStop(true, false));
    assertCheck(run(N1, cdb(0x00, 6), null, 0, false), SenseData.NOT_READY, 0x3A);
    assertCheck(run(N1, rw10(0x28, 0, 1), null, 512, true), SenseData.NOT_READY, 0x3A);
    assertCheck(run(N1, cdb(0x25, 10), null, 8, true), SenseData.NOT_READY, 0x3A);
    assertGood(run(N1, inq, null, 36, true)); // INQUIRY still answers
    assertGood(startStop(true, true));
    assertGood(run(N1, cdb(0x00, 6), null, 0, false));
  }

  @Test
  void preventFromAnyNexusBlocksEjectAndLoad() throws Exception {
    assertGood(prevent(new Nexusish(N1), true));
    assertGood(prevent(new Nexusish(N2), true));
    assertCheck(startStop(true, false), SenseData.ILLEGAL_REQUEST, 0x53);
    assertGood(prevent(new Nexusish(N1), false));
    assertCheck(startStop(true, false), SenseData.ILLEGAL_REQUEST, 0x53);
    assertGood(prevent(new Nexusish(N2), false));
    assertGood(startStop(true, false));
    assertGood(prevent(new Nexusish(N1), true));
    assertCheck(startStop(true, true), SenseData.ILLEGAL_REQUEST, 0x53);
  }

  @Test
  void reservedBitsAndPowerConditions() throws Exception {
    byte[] c = cdb(0x1B, 6);
    c[4] = 0x08; // reserved bit 3
    assertCheck(run(N1, c, null, 0, false), SenseData.ILLEGAL_REQUEST, 0x24);
    c[4] = 0x12; // power condition ACTIVE with LOEJ: LOEJ ignored
    assertGood(run(N1, c, null, 0, false));
    assertGood(run(N1, cdb(0x00, 6), null, 0, false));
  }
}
