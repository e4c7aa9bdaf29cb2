package io.spindle.server.iscsi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.spindle.initiator.Await;
import io.spindle.initiator.Connection;
import io.spindle.initiator.DiscoveredTarget;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.IscsiInitiator;
import io.spindle.initiator.LoginException;
import io.spindle.initiator.ScsiResponse;
import io.spindle.initiator.Session;
import io.spindle.iscsi.pdu.LoginRequestPdu;
import io.spindle.iscsi.pdu.LoginResponsePdu;
import io.spindle.iscsi.pdu.NopOutPdu;
import io.spindle.iscsi.pdu.Pdu;
import io.spindle.iscsi.pdu.RejectPdu;
import io.spindle.iscsi.pdu.ScsiCommandPdu;
import io.spindle.server.SpindleServer;
import io.spindle.server.config.ServerConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server in-process on a real socket, driven by the project's initiator: the first slice end
 * to end, and bad input from raw connections while another session keeps working.
 */
class IscsiServerIT {

  static final String TARGET = "iqn.2026-11.io.spindle:it";
  static final int BLOCK = 512;

  static Vertx vertx;
  static SpindleServer server;
  static int port;
  static IscsiInitiator initiator;

  @BeforeAll
  static void start(@TempDir Path dir) throws Exception {
    vertx = Vertx.vertx();
    JsonObject config = new JsonObject()
        .put("portals", new JsonArray().add(new JsonObject().put("address", "127.0.0.1:0")))
        .put("targets", new JsonArray().add(new JsonObject().put("name", TARGET).put("acl", "any")
            .put("luns", new JsonArray()
                .add(new JsonObject().put("lun", 0).put("backing", "file")
                    .put("path", dir.resolve("lun0.img").toString()).put("size", "64M"))
                .add(new JsonObject().put("lun", 1).put("backing", "memory").put("size", "16M")))))
        .put("negotiation", new JsonObject().put("nopInInterval", 1).put("nopInTimeout", 5));
    server = SpindleServer.start(vertx, ServerConfig.fromJson(config)).await(30, TimeUnit.SECONDS);
    port = server.ports().get(0);
    initiator = IscsiInitiator.create(vertx, new InitiatorOptions());
  }

  @AfterAll
  static void stop() throws Exception {
    if (initiator != null) Await.result(initiator.close());
    if (server != null) server.stop().await(30, TimeUnit.SECONDS);
    if (vertx != null) vertx.close().await(10, TimeUnit.SECONDS);
  }

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** Logs in and consumes any unit attention an earlier test raised (reported once per nexus, SAM-5 §5.14). */
  static Session login(IscsiInitiator ini, long isid) {
    Session s = isid == 0 ? Await.result(ini.login("127.0.0.1", port, TARGET))
        : Await.result(ini.login("127.0.0.1", port, TARGET, isid));
    for (int lun = 0; lun <= 1; lun++) {
      try (ScsiResponse r = Await.result(s.testUnitReady(lun))) {
        if (!r.isGood()) {
          assertEquals(0x06, r.senseKey(), "first command on LUN " + lun + ": " + r);
          assertEquals(0x29, r.asc(), "first command on LUN " + lun + ": " + r);
        }
      }
      try (ScsiResponse r = Await.result(s.testUnitReady(lun))) {
        assertTrue(r.isGood(), "second TEST UNIT READY on LUN " + lun + ": " + r);
      }
    }
    return s;
  }

  /** Writes and reads back {@code bytes} at {@code lba}, asserting every byte. */
  static void writeAndVerify(Session s, int lun, long lba, byte[] bytes) {
    try (ScsiResponse w = Await.result(s.write(lun, lba, Unpooled.wrappedBuffer(bytes.clone()), BLOCK))) {
      assertTrue(w.isGood(), "write: " + w);
    }
    try (ScsiResponse r = Await.result(s.read(lun, lba, bytes.length / BLOCK, BLOCK))) {
      assertTrue(r.isGood(), "read: " + r);
      byte[] got = new byte[r.data().readableBytes()];
      r.data().getBytes(r.data().readerIndex(), got);
      assertArrayEquals(bytes, got, "data read back differs");
    }
  }

  @Test
  void discoveryListsTheTargetWithItsPortal() {
    List<DiscoveredTarget> targets = Await.result(initiator.discover("127.0.0.1", port));
    assertEquals(1, targets.size(), targets.toString());
    assertEquals(TARGET, targets.get(0).name());
    assertTrue(targets.get(0).toString().contains("127.0.0.1:" + port + ",1"), targets.toString());
  }

  @Test
  void loginReadWriteLogout() {
    Session s = login(initiator, 0);
    try {
      assertTrue(s.tsih() != 0);
      var cap = Await.result(s.readCapacity16(0));
      assertEquals(64L * 1024 * 1024 / BLOCK - 1, cap.lastLba());
      // 1 MiB crosses MaxBurstLength, so it needs immediate data, unsolicited Data-Out and R2Ts.
      writeAndVerify(s, 0, 100, random(1 << 20, 1));
      writeAndVerify(s, 1, 7, random(64 * 1024, 2));
      Await.result(s.nop());
    } finally {
      Await.result(s.logout());
    }
  }

  @Test
  void digestsAndSmallSegmentsCarryDataIntact() {
    IscsiInitiator strict = IscsiInitiator.create(vertx, new InitiatorOptions().setHeaderDigest("CRC32C")
        .setDataDigest("CRC32C").setMaxRecvDataSegmentLength(4096).setInitialR2t(true).setImmediateData(false));
    try {
      Session s = login(strict, 0);
      assertTrue(s.parameters().toString().contains("CRC32C") || s.parameters().toString().contains("true"),
          s.parameters().toString());
      writeAndVerify(s, 0, 5000, random(300 * 1024, 3));
      Await.result(s.logout());
    } finally {
      Await.result(strict.close());
    }
  }

  @Test
  void unknownTargetFailsLoginWithTargetNotFound() {
    LoginException e = assertThrows(LoginException.class,
        () -> Await.result(initiator.login("127.0.0.1", port, "iqn.2026-11.io.spindle:nope")));
    assertEquals(2, e.statusClass());
    assertEquals(3, e.statusDetail());
  }

  @Test
  void reusedIsidReinstatesTheSession() {
    long isid = 0x80_1234_5600_01L;
    Session first = login(initiator, isid);
    Session second = login(initiator, isid);
    // RFC 7143 §6.3.5: the old session ends when a new one with the same ISID logs in.
    Await.result(first.connection().closeFuture(), Duration.ofSeconds(10));
    assertTrue(first.connection().isClosed());
    writeAndVerify(second, 1, 0, random(4096, 4));
    Await.result(second.logout());
  }

  @Test
  void badInputClosesOnlyTheOffendingConnection() throws Exception {
    Session good = login(initiator, 0);
    try {
      writeAndVerify(good, 1, 100, random(8192, 5));

      // 1. Garbage bytes: no valid BHS; the connection is closed.
      Connection garbage = Await.result(initiator.connect("127.0.0.1", port));
      byte[] junk = random(200, 6);
      Await.result(garbage.sendRaw(Unpooled.wrappedBuffer(junk)));
      Await.result(garbage.closeFuture(), Duration.ofSeconds(10));
      writeAndVerify(good, 1, 200, random(8192, 7));

      // 2. A BHS whose DataSegmentLength is impossible (16 MiB - 1 > MaxRecvDataSegmentLength).
      Connection huge = Await.result(initiator.connect("127.0.0.1", port));
      ByteBuf bhs = Unpooled.buffer(48).writeZero(48);
      bhs.setByte(0, 0x43); // immediate Login Request
      bhs.setMedium(5, 0xffffff);
      Await.result(huge.sendRaw(bhs));
      Await.result(huge.closeFuture(), Duration.ofSeconds(10));
      writeAndVerify(good, 1, 300, random(8192, 8));

      // 3. A SCSI command before login: Login Response "invalid during login" (0x020b), then close.
      Connection early = Await.result(initiator.connect("127.0.0.1", port));
      CompletableFuture<int[]> status = new CompletableFuture<>();
      early.pduHandler(p -> {
        if (p instanceof LoginResponsePdu r) status.complete(new int[] {r.statusClass(), r.statusDetail()});
      });
      ScsiCommandPdu cmd = new ScsiCommandPdu();
      cmd.cdb(new byte[] {0, 0, 0, 0, 0, 0}); // TEST UNIT READY
      cmd.finalBit(true);
      Await.result(early.send(cmd));
      assertArrayEquals(new int[] {2, 0x0b}, status.get(10, TimeUnit.SECONDS));
      Await.result(early.closeFuture(), Duration.ofSeconds(10));

      // 4. A Login Request in the full feature phase: Reject (protocol error); the connection lives.
      Session other = login(initiator, 0);
      CompletableFuture<Integer> reject = new CompletableFuture<>();
      other.connection().pduHandler(p -> {
        if (p instanceof RejectPdu r) reject.complete(r.reason());
      });
      LoginRequestPdu login = new LoginRequestPdu();
      login.stages(1, 3);
      Await.result(other.connection().send(login));
      assertEquals(RejectPdu.PROTOCOL_ERROR, reject.get(10, TimeUnit.SECONDS));
      other.connection().pduHandler(null);
      writeAndVerify(other, 1, 400, random(4096, 9));
      Await.result(other.logout());

      // 5. A NOP-Out with an unknown opcode bit pattern (opcode 0x1f): Reject, connection lives.
      Session third = login(initiator, 0);
      CompletableFuture<Integer> reject2 = new CompletableFuture<>();
      third.connection().pduHandler(p -> {
        if (p instanceof RejectPdu r) reject2.complete(r.reason());
      });
      NopOutPdu odd = new NopOutPdu();
      odd.bhs().setByte(0, 0x40 | 0x1f);
      Await.result(third.connection().send(odd));
      assertEquals(RejectPdu.COMMAND_NOT_SUPPORTED, reject2.get(10, TimeUnit.SECONDS));
      third.connection().pduHandler(null);
      Await.result(third.testUnitReady(0)).close();
      Await.result(third.logout());

      assertFalse(good.connection().isClosed(), "the well-behaved session was disturbed");
      writeAndVerify(good, 0, 0, random(128 * 1024, 10));
    } finally {
      Await.result(good.logout());
    }
  }

  @Test
  void targetPingsAnIdleInitiatorAndKeepsTheAnsweringConnection() throws Exception {
    Session s = login(initiator, 0);
    try {
      CompletableFuture<Integer> ping = new CompletableFuture<>();
      s.connection().pduHandler(p -> {
        if (p instanceof io.spindle.iscsi.pdu.NopInPdu n && n.itt() == 0xffffffff) ping.complete(n.ttt());
      });
      // RFC 7143 §11.19: a target-initiated NOP-In carries a TTT and ITT 0xffffffff.
      int ttt = ping.get(10, TimeUnit.SECONDS);
      assertTrue(ttt != 0xffffffff);
      s.connection().pduHandler(null);
      Thread.sleep(2500); // further pings, all answered by the initiator
      assertFalse(s.connection().isClosed());
      writeAndVerify(s, 1, 900, random(4096, 11));
    } finally {
      Await.result(s.logout());
    }
  }

  @Test
  void invalidCdbGetsCheckConditionAndTheSessionGoesOn() {
    Session s = login(initiator, 0);
    try {
      byte[] unsupported = new byte[] {(byte) 0xd7, 0, 0, 0, 0, 0}; // vendor-specific opcode
      try (ScsiResponse r = Await.result(s.command(0, unsupported, null, 0))) {
        assertEquals(ScsiResponse.CHECK_CONDITION, r.status());
        assertEquals(0x05, r.senseKey());
        assertEquals(0x20, r.asc()); // INVALID COMMAND OPERATION CODE
      }
      try (ScsiResponse r = Await.result(s.read(0, 64L * 1024 * 1024 / BLOCK, 1, BLOCK))) {
        assertEquals(ScsiResponse.CHECK_CONDITION, r.status());
        assertEquals(0x21, r.asc()); // LOGICAL BLOCK ADDRESS OUT OF RANGE
      }
      assertNotNull(Await.result(s.readCapacity16(0)));
    } finally {
      Await.result(s.logout());
    }
  }
}
