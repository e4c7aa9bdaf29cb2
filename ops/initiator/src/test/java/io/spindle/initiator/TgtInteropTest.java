package io.spindle.initiator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.spindle.initiator.cli.IscsiUrl;
import io.spindle.initiator.cli.VerifyWorkload;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The initiator against a real target: Linux tgt ({@code tgtd}, Debian package {@code tgt}),
 * started on a free loopback port with its own control port, one 16 MiB file-backed LUN.
 * Skipped when tgtd is missing or the test does not run as root (tgtd needs it).
 */
class TgtInteropTest {

  private static final String TARGET = "iqn.2026-11.io.spindle:tgt-interop";
  private static final int LUN = 1;
  private static final int BLOCK = 512;
  private static final long SIZE = 16L << 20;
  private static final Duration WAIT = Duration.ofSeconds(30);

  private static Process tgtd;
  private static int port;
  /** tgtd's management channel number; tgtd keeps it in a C short, so below 32768. */
  private static int controlPort;
  private static Path backing;
  private static Path workDir;
  private static Vertx vertx;
  private static IscsiInitiator initiator;

  @BeforeAll
  static void startTgtd() throws Exception {
    assumeTrue(new File("/usr/sbin/tgtd").canExecute() && new File("/usr/sbin/tgtadm").canExecute(),
        "tgtd/tgtadm not installed (Debian package tgt): skipping the tgt interop test");
    assumeTrue("root".equals(System.getProperty("user.name")), "tgtd needs root: skipping the tgt interop test");
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    controlPort = 1000 + port % 30000;
    for (int i = 0; i < 100 && Files.exists(Path.of("/var/run/tgtd/socket." + controlPort)); i++) {
      controlPort = 1000 + (controlPort + 7) % 30000;
    }
    workDir = Files.createDirectories(Path.of("target", "tgt-" + port));
    backing = workDir.resolve("lun1.img").toAbsolutePath();
    try (RandomAccessFile f = new RandomAccessFile(backing.toFile(), "rw")) {
      f.setLength(SIZE);
    }
    tgtd = new ProcessBuilder("/usr/sbin/tgtd", "-f", "-C", Integer.toString(controlPort),
        "--iscsi", "portal=127.0.0.1:" + port)
        .redirectErrorStream(true).redirectOutput(workDir.resolve("tgtd.log").toFile()).start();
    // tgtd opens its control socket shortly after start; retry the first command a bounded number of times.
    boolean created = false;
    for (int i = 0; i < 50 && !created && tgtd.isAlive(); i++) {
      created = tgtadm(false, "--lld", "iscsi", "--op", "new", "--mode", "target", "--tid", "1", "-T", TARGET);
      if (!created) Thread.sleep(100);
    }
    assertTrue(created, "tgtd did not accept the target; see " + workDir.resolve("tgtd.log"));
    tgtadm(true, "--lld", "iscsi", "--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", "1",
        "--backing-store", backing.toString());
    tgtadm(true, "--lld", "iscsi", "--op", "bind", "--mode", "target", "--tid", "1", "--initiator-address", "ALL");
    // tgt answers None to digest offers unless the target allows CRC32C.
    tgtadm(true, "--lld", "iscsi", "--op", "update", "--mode", "target", "--tid", "1", "-n", "HeaderDigest",
        "-v", "CRC32C,None");
    tgtadm(true, "--lld", "iscsi", "--op", "update", "--mode", "target", "--tid", "1", "-n", "DataDigest",
        "-v", "CRC32C,None");
    vertx = Vertx.vertx();
    initiator = IscsiInitiator.create(vertx, new InitiatorOptions());
  }

  private static boolean tgtadm(boolean mustSucceed, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("/usr/sbin/tgtadm", "-C", Integer.toString(controlPort)));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    boolean exited = p.waitFor(10, TimeUnit.SECONDS);
    if (!exited) p.destroyForcibly();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    boolean ok = exited && p.exitValue() == 0;
    if (mustSucceed) assertTrue(ok, "tgtadm " + String.join(" ", args) + " failed: " + out);
    return ok;
  }

  @AfterAll
  static void stopTgtd() throws Exception {
    try {
      if (initiator != null) Await.result(initiator.close(), WAIT);
      if (vertx != null) Await.result(vertx.close(), WAIT);
    } finally {
      if (tgtd != null) {
        tgtd.destroy();
        if (!tgtd.waitFor(3, TimeUnit.SECONDS)) {
          tgtd.destroyForcibly();
          tgtd.waitFor(10, TimeUnit.SECONDS);
        }
        Files.deleteIfExists(Path.of("/var/run/tgtd/socket." + controlPort));
        Files.deleteIfExists(Path.of("/var/run/tgtd/socket." + controlPort + ".lock"));
      }
      if (backing != null) Files.deleteIfExists(backing);
    }
  }

  private static Session login(IscsiInitiator with) {
    return Await.result(with.login("127.0.0.1", port, TARGET), WAIT);
  }

  /** The first command of a new I_T nexus may meet a unit attention (SAM-5 §5.14); TUR clears it. */
  private static void clearUnitAttention(Session s) {
    for (int i = 0; i < 3; i++) {
      try (ScsiResponse r = Await.result(s.testUnitReady(LUN), WAIT)) {
        if (r.isGood()) return;
        assertEquals(6, r.senseKey(), "TEST UNIT READY: " + r);
      }
    }
  }

  @Test
  void discoveryListsTheTarget() {
    List<DiscoveredTarget> targets = Await.result(initiator.discover("127.0.0.1", port), WAIT);
    assertEquals(1, targets.size(), targets.toString());
    assertEquals(TARGET, targets.get(0).name());
    assertTrue(targets.get(0).addresses().stream().anyMatch(a -> a.contains(":" + port)), targets.toString());
  }

  @Test
  void loginInquiryCapacityWriteReadLogout() {
    Session s = login(initiator);
    assertTrue(s.tsih() != 0, "TSIH assigned");
    clearUnitAttention(s);
    try (ScsiResponse r = Await.result(s.testUnitReady(LUN), WAIT)) {
      assertTrue(r.isGood(), r.toString());
    }
    try (ScsiResponse r = Await.result(s.inquiry(LUN), WAIT)) {
      assertTrue(r.isGood(), r.toString());
      assertEquals(0, r.data().getByte(0) & 0x1f, "peripheral device type: direct access block device");
      assertEquals("IET", r.data().toString(8, 8, StandardCharsets.US_ASCII).trim());
    }
    Capacity cap = Await.result(s.readCapacity16(LUN), WAIT);
    assertEquals(BLOCK, cap.blockLength());
    assertEquals(SIZE, cap.bytes());

    byte[] pattern = new byte[1 << 20];
    new Random(7).nextBytes(pattern);
    try (ScsiResponse w = Await.result(s.write(LUN, 64, Unpooled.wrappedBuffer(pattern), BLOCK), WAIT)) {
      assertTrue(w.isGood(), w.toString());
    }
    try (ScsiResponse r = Await.result(s.read(LUN, 64, pattern.length / BLOCK, BLOCK), WAIT)) {
      assertTrue(r.isGood(), r.toString());
      assertEquals(pattern.length, r.data().readableBytes());
      assertTrue(ByteBufUtil.equals(Unpooled.wrappedBuffer(pattern), r.data()), "read back what was written");
    }
    Await.result(s.nop(), WAIT);
    Await.result(s.logout(), WAIT);
    assertTrue(s.connection().isClosed());
  }

  @Test
  void manyConcurrentCommandsWithDigestsAndSolicitedDataOnly() {
    IscsiInitiator strict = IscsiInitiator.create(vertx, new InitiatorOptions()
        .setHeaderDigest("CRC32C").setDataDigest("CRC32C").setInitialR2t(true).setImmediateData(false)
        .setMaxRecvDataSegmentLength(16_384));
    try {
      Session s = login(strict);
      assertTrue(s.parameters().headerDigest() && s.parameters().dataDigest(), s.parameters().toString());
      assertTrue(s.parameters().initialR2t());
      clearUnitAttention(s);
      int count = 32;
      int chunk = 64 * 1024;
      byte[] pattern = new byte[count * chunk];
      new Random(11).nextBytes(pattern);
      List<Future<ScsiResponse>> writes = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        ByteBuf data = Unpooled.copiedBuffer(pattern, i * chunk, chunk);
        writes.add(s.write(LUN, 4096 + (long) i * chunk / BLOCK, data, BLOCK));
      }
      for (Future<ScsiResponse> f : writes) {
        try (ScsiResponse r = Await.result(f, WAIT)) {
          assertTrue(r.isGood(), r.toString());
        }
      }
      List<Future<ScsiResponse>> reads = new ArrayList<>();
      for (int i = 0; i < count; i++) reads.add(s.read(LUN, 4096 + (long) i * chunk / BLOCK, chunk / BLOCK, BLOCK));
      for (int i = 0; i < count; i++) {
        try (ScsiResponse r = Await.result(reads.get(i), WAIT)) {
          assertTrue(r.isGood(), r.toString());
          assertTrue(ByteBufUtil.equals(Unpooled.wrappedBuffer(pattern, i * chunk, chunk), r.data()), "chunk " + i);
        }
      }
      assertEquals(0, s.outstanding());
      Await.result(s.logout(), WAIT);
    } finally {
      Await.result(strict.close(), WAIT);
    }
  }

  @Test
  void checkConditionCarriesSense() {
    Session s = login(initiator);
    clearUnitAttention(s);
    // READ (16) past the last block: SBC-4 §5.16, LOGICAL BLOCK ADDRESS OUT OF RANGE (ILLEGAL REQUEST, 21h/00h).
    try (ScsiResponse r = Await.result(s.read(LUN, SIZE / BLOCK, 1, BLOCK), WAIT)) {
      assertEquals(ScsiResponse.CHECK_CONDITION, r.status(), r.toString());
      assertEquals(5, r.senseKey());
      assertEquals(0x21, r.asc());
    }
    Await.result(s.logout(), WAIT);
  }

  @Test
  void unknownTargetFailsLoginWithStatus() {
    LoginException e = assertThrows(LoginException.class,
        () -> Await.result(initiator.login("127.0.0.1", port, "iqn.2026-11.io.spindle:nope"), WAIT));
    assertEquals(LoginException.CLASS_INITIATOR_ERROR, e.statusClass());
    assertEquals(0x03, e.statusDetail(), e.getMessage());
  }

  @Test
  void pendingAndLaterCommandsFailWhenTheConnectionCloses() {
    Session s = login(initiator);
    Future<ScsiResponse> inFlight = s.read(LUN, 0, 2048, BLOCK);
    Await.result(s.close(), WAIT);
    // The read either finished before the close or failed with the close; it never hangs.
    try {
      Await.result(inFlight, WAIT).close();
    } catch (ConnectionClosedException expected) {
      assertFalse(expected.getMessage().isEmpty());
    }
    Exception after = assertThrows(ConnectionClosedException.class, () -> Await.result(s.testUnitReady(LUN), WAIT));
    assertInstanceOf(ConnectionClosedException.class, after);
    assertEquals(0, s.outstanding());
  }

  @Test
  void securityStageCanBeSkipped() throws IOException {
    IscsiInitiator direct = IscsiInitiator.create(vertx, new InitiatorOptions().setSecurityNegotiation(false));
    try {
      Session s = login(direct);
      clearUnitAttention(s);
      Await.result(s.logout(), WAIT);
    } finally {
      Await.result(direct.close(), WAIT);
    }
  }

  private static VerifyWorkload.Result verify(int erl, int connections, Duration duration, Duration kill,
      double corruptData, double corruptHeader, long seed) {
    VerifyWorkload.Settings settings = new VerifyWorkload.Settings(
        new IscsiUrl("127.0.0.1", port, TARGET, LUN), erl, connections, 8, duration, kill, corruptData,
        corruptHeader, BLOCK, 256 << 10, seed, 8L << 20);
    return new VerifyWorkload(settings, System.err).run(vertx);
  }

  @Test
  void verifyWorkloadNegotiatesDownToErl0AndOneConnection() {
    // tgt offers ErrorRecoveryLevel=0 and MaxConnections=1: the workload asks for 2 and 2 and gets the minimum.
    VerifyWorkload.Result r = verify(2, 2, Duration.ofSeconds(4), Duration.ZERO, 0, 0, 11);
    assertTrue(r.ok(), r.toString());
    assertTrue(r.commands() > 0, r.toString());
    assertEquals(0, r.recoveries(), r.toString());
  }

  @Test
  void verifyWorkloadRecoversKilledConnectionsBySessionReloginAtErl0() {
    // The ERL 0 policy: a lost connection is a lost session; log in again and re-issue what was in flight.
    VerifyWorkload.Result r = verify(0, 1, Duration.ofSeconds(5), Duration.ofMillis(1500), 0, 0, 12);
    assertTrue(r.ok(), r.toString());
    assertTrue(r.recoveries() >= 1, "no connection was killed: " + r);
  }

  @Test
  void verifyWorkloadSurvivesCorruptedDigestsAtErl0() {
    VerifyWorkload.Result r = verify(0, 1, Duration.ofSeconds(4), Duration.ZERO, 0.005, 0.002, 13);
    assertTrue(r.ok(), r.toString());
  }
}
