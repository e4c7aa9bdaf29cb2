package io.spindle.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.util.ResourceLeakDetector;
import io.spindle.initiator.Await;
import io.spindle.initiator.DiscoveredTarget;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.IscsiInitiator;
import io.spindle.initiator.cli.BenchWorkload;
import io.spindle.initiator.cli.IscsiUrl;
import io.spindle.initiator.cli.VerifyWorkload;
import io.spindle.server.ItSupport;
import io.spindle.server.SpindleServer;
import io.spindle.server.config.ServerConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The initiator's portal failover against one real server with two portals of one portal group (127.0.0.1 and 127.0.0.2)
 * (what a cluster looks like from the initiator, without the cluster): the session's only
 * connection is killed again and again, and each time the session continues on the other
 * portal — same ISID and TSIH, TASK REASSIGN of the outstanding tasks — with every block read
 * back checked. The 3-JVM cluster runs are ClusterFailoverIT.
 */
class PortalFailoverIT {

  static final String TARGET = "iqn.2026-11.io.spindle:failover";

  static Vertx vertx;
  static SpindleServer server;
  static int portA;
  static int portB;
  static ResourceLeakDetector.Level savedLevel;

  @BeforeAll
  static void start(@TempDir Path dir) throws Exception {
    savedLevel = ItSupport.sampledLeakDetection();
    vertx = Vertx.vertx();
    JsonObject config = new JsonObject()
        .put("portals", new JsonArray()
            .add(new JsonObject().put("address", "127.0.0.1:0").put("portalGroupTag", 1))
            .add(new JsonObject().put("address", "127.0.0.2:0").put("portalGroupTag", 1)))
        .put("targets", new JsonArray().add(new JsonObject().put("name", TARGET).put("acl", "any")
            .put("luns", new JsonArray().add(new JsonObject().put("lun", 0).put("backing", "file")
                .put("path", dir.resolve("lun0.img").toString()).put("size", "128M")))))
        .put("negotiation", ItSupport.recoveryNegotiation());
    server = SpindleServer.start(vertx, ServerConfig.fromJson(config)).await(30, TimeUnit.SECONDS);
    portA = server.ports().get(0);
    portB = server.ports().get(1);
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) server.stop().await(30, TimeUnit.SECONDS);
    if (vertx != null) vertx.close().await(10, TimeUnit.SECONDS);
    ResourceLeakDetector.setLevel(savedLevel);
  }

  private static VerifyWorkload.Settings settings(Duration kill, Duration duration) {
    return new VerifyWorkload.Settings(new IscsiUrl("127.0.0.1", portA, TARGET, 0), 2, 1, 32, duration, kill, 0, 0,
        512, 256 << 10, 7, 64L << 20);
  }

  @Test
  void aKilledConnectionContinuesOnTheOtherPortal() {
    VerifyWorkload.Result r = ItSupport.verifyClean(settings(Duration.ofMillis(1500), Duration.ofSeconds(8))
        .withPortals(List.of("127.0.0.2:" + portB), Duration.ofSeconds(5), false));
    // Every kill leaves no connection, so each recovery moves to the other portal.
    assertTrue(r.failovers() >= 3, "each killed connection moved the session: " + r);
    assertTrue(r.recoveries() >= r.failovers(), r.toString());
  }

  /** Only the URL's portal given: the second one comes from the target's SendTargets answer. */
  @Test
  void thePortalsOfTheSendTargetsAnswerAreUsed() {
    VerifyWorkload.Result r = ItSupport.verifyClean(settings(Duration.ofMillis(1500), Duration.ofSeconds(6))
        .withPortals(List.of(), Duration.ofSeconds(5), true));
    assertTrue(r.failovers() >= 2, "the session moved to the portal SendTargets named: " + r);
  }

  /** The initiator's bench command (used by ops/cluster-test/bench.sh) on an ERL 2 session. */
  @Test
  void benchTimesEveryCommandOnAnErl2Session() {
    Vertx client = Vertx.vertx();
    try {
      for (boolean write : new boolean[] {true, false}) {
        BenchWorkload.Result r = new BenchWorkload(new BenchWorkload.Settings(new IscsiUrl("127.0.0.1", portA, TARGET,
            0), 2, 8, 4096, 300, write, 3, 8L << 20, null)).run(client);
        assertEquals(300, r.ios(), r.toString());
        assertEquals(0, r.errors(), r.toString());
        assertTrue(r.p50() > 0 && r.p50() <= r.p99() && r.p99() <= r.p999(), r.toString());
      }
    } finally {
      client.close();
    }
  }

  @Test
  void sendTargetsListsBothPortals() {
    Vertx client = Vertx.vertx();
    IscsiInitiator ini = IscsiInitiator.create(client, new InitiatorOptions());
    try {
      List<DiscoveredTarget> targets = Await.result(ini.discover("127.0.0.1", portA));
      assertEquals(1, targets.size(), targets.toString());
      assertEquals(List.of("127.0.0.1:" + portA + ",1", "127.0.0.2:" + portB + ",1"), targets.get(0).addresses());
    } finally {
      Await.result(ini.close());
      client.close();
    }
  }
}
