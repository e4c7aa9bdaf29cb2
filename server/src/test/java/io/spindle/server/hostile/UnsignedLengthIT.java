package io.spindle.server.hostile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.spindle.server.SpindleServer;
import io.spindle.server.config.ServerConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 21, case 4: 32-bit lengths and offsets from the wire are unsigned (RFC 7143 §11.2). A
 * WRITE(10) of one block whose Expected Data Transfer Length is 2^31 or 2^32 - 1 gets its R2T for
 * the block, takes the data, and reports the rest as underflow (RFC 7143 §11.4.5); it never
 * answers GOOD without the data. A Data-Out at a Buffer Offset of 2^31 or more is rejected and its
 * command does not end GOOD.
 */
class UnsignedLengthIT {

  static final String TARGET = "iqn.2026-11.io.spindle:edtl";
  static final String INITIATOR = "iqn.2026-11.io.spindle:raw";
  static final int BLOCK = 512;

  static Vertx vertx;
  static SpindleServer server;
  static int port;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    JsonObject config = new JsonObject()
        .put("portals", new JsonArray().add(new JsonObject().put("address", "127.0.0.1:0")))
        .put("targets", new JsonArray().add(new JsonObject().put("name", TARGET).put("acl", "any")
            .put("luns", new JsonArray().add(new JsonObject().put("lun", 0).put("backing", "memory").put("size", "4M")))));
    server = SpindleServer.start(vertx, ServerConfig.fromJson(config)).await(30, TimeUnit.SECONDS);
    port = server.ports().get(0);
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) server.stop().await(30, TimeUnit.SECONDS);
    if (vertx != null) vertx.close().await(10, TimeUnit.SECONDS);
  }

  private static byte[] pattern(long seed) {
    byte[] b = new byte[BLOCK];
    new java.util.Random(seed).nextBytes(b);
    return b;
  }

  /** Reads one block with the given EDTL and checks the underflow it reports (RFC 7143 §11.7.3). */
  private static byte[] readBlock(RawPeer p, int itt, long lba, long edtl) throws Exception {
    p.command(itt, RawPeer.cdb10(0x28, lba, 1), edtl, true, false);
    p.flush();
    byte[] got = new byte[0];
    RawPeer.In in;
    do {
      in = p.read();
      if (in.opcode() == RawPeer.DATA_IN) {
        assertEquals(got.length, in.int32(40), "Data-In offset");
        got = Arrays.copyOf(got, got.length + in.data().length);
        System.arraycopy(in.data(), 0, got, got.length - in.data().length, in.data().length);
      }
    } while (!(in.opcode() == RawPeer.SCSI_RESPONSE || in.opcode() == RawPeer.DATA_IN && (in.flags() & 1) != 0));
    // Status byte 3 in both the SCSI Response and a Data-In with S (RFC 7143 §11.4.2, §11.7.3); U, O in the flags.
    assertEquals(0, in.bhs()[3] & 0xff, "READ status");
    assertEquals(0x02, in.flags() & 0x06, "underflow bit for EDTL " + edtl);
    assertEquals(edtl - BLOCK, in.uint32(44), "residual count for EDTL " + edtl);
    return got;
  }

  @ParameterizedTest
  @ValueSource(longs = {0x80000000L, 0xffffffffL})
  void writeOfOneBlockWithHugeEdtlTakesItsDataAndReportsUnderflow(long edtl) throws Exception {
    long lba = edtl == 0x80000000L ? 10 : 11;
    byte[] data = pattern(edtl);
    try (RawPeer p = new RawPeer(port)) {
      assertEquals(0, p.login(INITIATOR, TARGET));
      p.command(1, RawPeer.cdb10(0x2a, lba, 1), edtl, false, true);
      p.flush();
      // RFC 7143 §10.8: the target solicits the one block the CDB moves, not 2^31 bytes, and not nothing.
      RawPeer.In r2t = p.read();
      assertEquals(RawPeer.R2T, r2t.opcode(), "an R2T, not status, answers the WRITE with EDTL " + edtl);
      assertEquals(0, r2t.int32(40), "R2T buffer offset");
      assertEquals(BLOCK, r2t.int32(44), "R2T desired length");
      p.dataOut(1, r2t.int32(20), 0, 0, data, true);
      p.flush();
      RawPeer.In resp = p.read();
      assertEquals(RawPeer.SCSI_RESPONSE, resp.opcode());
      assertEquals(0, resp.bhs()[3] & 0xff, "status GOOD once the data arrived");
      // RFC 7143 §11.4.5.2: underflow, residual = EDTL - bytes moved, as an unsigned count.
      assertEquals(0x02, resp.flags() & 0x06, "U bit, not O");
      assertEquals(edtl - BLOCK, resp.uint32(44), "residual count");
      assertArrayEquals(data, readBlock(p, 2, lba, edtl), "the block is what was written (read with the same EDTL)");
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {0x80000000L, 0xfffffe00L})
  void dataOutAtAnOffsetOf2To31OrMoreIsRejectedAndNeverGood(long offset) throws Exception {
    long lba = 20;
    try (RawPeer p = new RawPeer(port)) {
      assertEquals(0, p.login(INITIATOR, TARGET));
      byte[] before = readBlock(p, 1, lba, BLOCK * 2L);
      p.command(2, RawPeer.cdb10(0x2a, lba, 1), BLOCK, false, true);
      p.flush();
      RawPeer.In r2t = p.read();
      assertEquals(RawPeer.R2T, r2t.opcode());
      // Read as a signed int, offset + 512 wraps to a small or negative number that passes a bound check.
      p.dataOut(2, r2t.int32(20), 0, offset, pattern(offset), true);
      p.flush();
      RawPeer.In reject = p.read();
      assertEquals(RawPeer.REJECT, reject.opcode(), "a Data-Out at offset " + offset + " is rejected");
      RawPeer.In resp = p.readUntil(RawPeer.SCSI_RESPONSE);
      assertNotEquals(0, resp.bhs()[3] & 0xff, "the WRITE whose data never came is not GOOD");
      assertArrayEquals(before, readBlock(p, 3, lba, BLOCK * 2L), "the block is unchanged");
    }
  }
}
