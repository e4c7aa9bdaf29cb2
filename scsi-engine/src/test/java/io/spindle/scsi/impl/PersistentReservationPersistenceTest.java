package io.spindle.scsi.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.scsi.LogicalUnit;
import io.spindle.scsi.LunOptions;
import io.spindle.scsi.ScsiStatus;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** READ FULL STATUS, REGISTER AND MOVE and APTPL (SPC-4 §5.9.5, §6.15.5, §6.16.4). */
class PersistentReservationPersistenceTest extends EngineTestBase {

  @TempDir
  Path dir;

  @Override
  LunOptions options() {
    return LunOptions.file(dir.resolve("pr.img").toString(), BLOCKS * 512L);
  }

  private Outcome prout(io.spindle.scsi.Nexus n, int sa, int type, long key, long saKey, int flags) throws Exception {
    byte[] c = cdb(0x5F, 10);
    c[1] = (byte) sa;
    c[2] = (byte) type;
    c[8] = 24;
    byte[] p = new byte[24];
    for (int i = 0; i < 8; i++) {
      p[i] = (byte) (key >>> (56 - 8 * i));
      p[8 + i] = (byte) (saKey >>> (56 - 8 * i));
    }
    p[20] = (byte) flags;
    return run(n, c, p, 24, false);
  }

  private Outcome prin(io.spindle.scsi.Nexus n, int sa) throws Exception {
    byte[] c = cdb(0x5E, 10);
    c[1] = (byte) sa;
    c[7] = 4;
    return run(n, c, null, 1024, true);
  }

  @Test
  void readFullStatusListsRegistrantsWithTransportIds() throws Exception {
    assertGood(prout(N1, 0, 0, 0, 0xA1L, 0));
    assertGood(prout(N2, 0, 0, 0, 0xB2L, 0));
    assertGood(prout(N1, 1, 1, 0xA1L, 0, 0));
    Outcome o = prin(N1, 3);
    assertGood(o);
    byte[] d = o.data();
    int length = ((d[4] & 0xFF) << 24) | ((d[5] & 0xFF) << 16) | ((d[6] & 0xFF) << 8) | (d[7] & 0xFF);
    assertEquals(d.length - 8, length);
    // First descriptor: N1, holder of WRITE EXCLUSIVE, iSCSI TransportID format 01b.
    assertEquals((byte) 0xA1, d[8 + 7]);
    assertEquals(1, d[8 + 12] & 0x01, "R_HOLDER");
    assertEquals(1, d[8 + 13] & 0x0F, "type");
    assertEquals(0x45, d[8 + 24] & 0xFF, "format 01b, protocol iSCSI");
    String name = new String(d, 8 + 28, N1.initiatorPort().length(), StandardCharsets.UTF_8);
    assertEquals(N1.initiatorPort(), name);
  }

  @Test
  void aptplStateSurvivesReopen() throws Exception {
    assertGood(prout(N1, 0, 0, 0, 0xA1L, 0x01)); // REGISTER with APTPL
    assertGood(prout(N1, 1, 3, 0xA1L, 0, 0));
    Path state = dir.resolve("pr.img.pr.json");
    assertTrue(Files.isRegularFile(state));
    Outcome caps = prin(N1, 2);
    assertEquals(1, caps.data()[3] & 0x01, "PTPL_A");
    // A second engine opening the same file sees the registration and the reservation.
    await(engine.close());
    engine = io.spindle.scsi.ScsiEngine.create(vertx, 1);
    LogicalUnit reopened = await(engine.openLogicalUnit(options()));
    target = engine.createTarget("iqn.t", Map.of(0, reopened));
    run(N2, cdb(0x00, 6), null, 0, false); // power-on UA
    assertEquals(ScsiStatus.RESERVATION_CONFLICT, run(N2, rw10(0x28, 0, 1), null, 512, true).status());
    Outcome keys = prin(N2, 0);
    assertEquals(8, keys.data()[7]);
    // Registering again without APTPL drops the file.
    run(N1, cdb(0x00, 6), null, 0, false);
    assertGood(prout(N1, 0, 0, 0xA1L, 0xA2L, 0));
    assertFalse(Files.exists(state));
  }

  @Test
  void registerAndMoveHandsTheReservationOver() throws Exception {
    assertGood(prout(N1, 0, 0, 0, 0xA1L, 0));
    assertGood(prout(N1, 1, 3, 0xA1L, 0, 0)); // EXCLUSIVE ACCESS
    byte[] tid = io.spindle.scsi.impl.spc.PersistentReserveCommands.transportId(N2.initiatorPort());
    byte[] p = new byte[24 + tid.length];
    p[7] = (byte) 0xA1;
    p[15] = (byte) 0xB2;
    p[17] = 0x02; // UNREG
    p[19] = 1; // relative target port 1
    p[23] = (byte) tid.length;
    System.arraycopy(tid, 0, p, 24, tid.length);
    byte[] c = cdb(0x5F, 10);
    c[1] = 7;
    c[2] = 3;
    c[8] = (byte) p.length;
    assertGood(run(N1, c, p, p.length, false));
    assertGood(run(N2, rw10(0x28, 0, 1), null, 512, true));
    assertEquals(ScsiStatus.RESERVATION_CONFLICT, run(N1, rw10(0x28, 0, 1), null, 512, true).status());
    Outcome keys = prin(N1, 0);
    assertEquals(8, keys.data()[7], "only the destination's key remains");
    // Not the holder any more: moving again is a conflict.
    assertEquals(ScsiStatus.RESERVATION_CONFLICT, run(N1, c, p, p.length, false).status());
  }
}
