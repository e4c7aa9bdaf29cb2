package io.spindle.server.recovery;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.util.ResourceLeakDetector;
import io.spindle.initiator.Await;
import io.spindle.initiator.FaultInjector;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.IscsiInitiator;
import io.spindle.initiator.ScsiResponse;
import io.spindle.initiator.Session;
import io.spindle.initiator.cli.IscsiUrl;
import io.spindle.initiator.cli.VerifyWorkload;
import io.spindle.iscsi.pdu.NopInPdu;
import io.spindle.iscsi.pdu.Opcode;
import io.spindle.server.ItSupport;
import io.spindle.server.SpindleServer;
import io.spindle.server.config.ServerConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each recovery path of RFC 7143 §7 against a real server, driven by the project's verifying
 * workload: every block written is read back and checked, faults are injected on the wire.
 * Short runs (a few seconds each); the 60-second runs of issue 7 use the same workload from the CLI.
 */
class ErrorRecoveryIT {

  static final String TARGET = "iqn.2026-11.io.spindle:recovery";

  static Vertx vertx;
  static SpindleServer server;
  static int port;
  static ResourceLeakDetector.Level savedLevel;

  @BeforeAll
  static void start(@TempDir Path dir) throws Exception {
    savedLevel = ItSupport.sampledLeakDetection();
    vertx = Vertx.vertx();
    JsonObject config = new JsonObject()
        .put("portals", new JsonArray().add(new JsonObject().put("address", "127.0.0.1:0")))
        .put("targets", new JsonArray().add(new JsonObject().put("name", TARGET).put("acl", "any")
            .put("luns", new JsonArray().add(new JsonObject().put("lun", 0).put("backing", "file")
                .put("path", dir.resolve("lun0.img").toString()).put("size", "128M")))))
        .put("negotiation", ItSupport.recoveryNegotiation());
    server = SpindleServer.start(vertx, ServerConfig.fromJson(config)).await(30, TimeUnit.SECONDS);
    port = server.ports().get(0);
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) server.stop().await(30, TimeUnit.SECONDS);
    if (vertx != null) vertx.close().await(10, TimeUnit.SECONDS);
    ResourceLeakDetector.setLevel(savedLevel);
  }

  private static VerifyWorkload.Result verify(int erl, int connections, Duration kill, double dataDigest,
      double headerDigest, Duration duration) {
    return ItSupport.verifyClean(new VerifyWorkload.Settings(new IscsiUrl("127.0.0.1", port, TARGET, 0), erl,
        connections, 32, duration, kill == null ? Duration.ZERO : kill, dataDigest, headerDigest, 512, 256 << 10, 42,
        64L << 20));
  }

  @Test
  void erl2ReassignsTasksOfKilledConnectionsAcrossTwoConnections() {
    VerifyWorkload.Result r = verify(2, 2, Duration.ofSeconds(2), 0, 0, Duration.ofSeconds(9));
    assertTrue(r.recoveries() >= 3, "each killed connection is a recovery: " + r);
  }

  /**
   * Connections killed faster than a recovery completes: a TASK REASSIGN is lost with its
   * connection again and again. Every command must still complete — the initiator keeps such a
   * task's CmdSN (a new one left a hole that stalled every later command until it timed out).
   */
  @Test
  void erl2SurvivesKillsFasterThanRecovery() {
    VerifyWorkload.Result r = verify(2, 2, Duration.ofMillis(300), 0, 0, Duration.ofSeconds(10));
    assertTrue(r.recoveries() >= 5, "connections were killed and recovered: " + r);
  }

  @Test
  void erl1RecoversDataAndHeaderDigestErrors() {
    VerifyWorkload.Result r = verify(1, 1, null, 0.05, 0.01, Duration.ofSeconds(6));
    assertTrue(r.recoveries() > 0, "digest errors were injected, so something was recovered: " + r);
  }

  /**
   * RFC 7143 §7.8 with NOP-based gap detection (§6.2.1): two commands whose headers fail their
   * digest, back to back, while the target's first ping is still out. The target pings again
   * when that ping is answered, so each discard is announced; both commands complete. (With one
   * ping for both, the second hole waited for the idle ping, 15 s later; the CI failure of
   * erl1RecoversDataAndHeaderDigestErrors.)
   */
  @Test
  void everyDiscardedCommandIsAnnouncedByATargetPing() {
    java.util.concurrent.atomic.AtomicInteger damaged = new java.util.concurrent.atomic.AtomicInteger();
    InitiatorOptions o = new InitiatorOptions().setErrorRecoveryLevel(1).setHeaderDigest("CRC32C")
        .setFaultInjector(pdu -> pdu.opcode() == Opcode.SCSI_COMMAND && damaged.getAndIncrement() < 2
            ? FaultInjector.Fault.HEADER_DIGEST : FaultInjector.Fault.NONE);
    Vertx client = Vertx.vertx();
    IscsiInitiator ini = IscsiInitiator.create(client, o);
    try {
      Session s = Await.result(ini.login("127.0.0.1", port, TARGET));
      java.util.concurrent.atomic.AtomicInteger pings = new java.util.concurrent.atomic.AtomicInteger();
      s.connections().get(0).pduHandler(pdu -> {
        if (pdu instanceof NopInPdu n && n.ttt() != 0xffffffff) pings.incrementAndGet();
      });
      Future<ScsiResponse> a = s.read(0, 0, 8, 512);
      Future<ScsiResponse> b = s.read(0, 8, 8, 512);
      try (ScsiResponse ra = Await.result(a); ScsiResponse rb = Await.result(b)) {
        // A power-on or reset unit attention may answer the first command that runs.
        assertTrue(ra.isGood() || ra.senseKey() == 0x06, ra.toString());
        assertTrue(rb.isGood() || rb.senseKey() == 0x06, rb.toString());
      }
      assertTrue(damaged.get() >= 2, "both headers were damaged: " + damaged.get());
      assertTrue(pings.get() >= 2, "one target ping per discarded command, got " + pings.get());
      Await.result(s.logout());
    } finally {
      Await.result(ini.close());
      client.close();
    }
  }

  @Test
  void erl0DroppedConnectionFailsCleanlyAndTheSessionComesBack() {
    VerifyWorkload.Result r = verify(0, 1, Duration.ofSeconds(3), 0, 0, Duration.ofSeconds(7));
    assertTrue(r.recoveries() >= 1, "the session is re-established after each drop: " + r);
  }

  @Test
  void multipleConnectionsPerSessionKeepCommandOrder() {
    verify(0, 3, null, 0, 0, Duration.ofSeconds(3));
  }
}
