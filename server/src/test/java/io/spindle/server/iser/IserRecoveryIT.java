package io.spindle.server.iser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.util.ResourceLeakDetector;
import io.spindle.initiator.Await;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.IscsiInitiator;
import io.spindle.initiator.Session;
import io.spindle.initiator.cli.IscsiUrl;
import io.spindle.initiator.cli.VerifyWorkload;
import io.spindle.server.ItSupport;
import io.spindle.server.SpindleServer;
import io.spindle.server.config.ServerConfig;
import io.spindle.server.iscsi.IscsiService;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * ErrorRecoveryLevel 2 over iSER, both connection styles: connection recovery with TASK REASSIGN,
 * where the TMF's iSER header advertises the reassigned task's STags on the new connection (RFC
 * 7145 §7.3, RFC 5046 §7.3), driven by the verifying workload with a connection killed every two
 * seconds; and a further connection of an RFC 5046 style session moving to MPA like the leading
 * one (RDMAExtensions is leading-only, RFC 7145 §6.3).
 */
class IserRecoveryIT {

  static final String TARGET = "iqn.2026-11.io.spindle:iser-recovery";
  static final String HOST = IserServerIT.ISER_HOST;

  static Vertx vertx;
  static SpindleServer server;
  static int port;
  static ResourceLeakDetector.Level savedLevel;

  @BeforeAll
  static void start() throws Exception {
    savedLevel = ItSupport.sampledLeakDetection();
    vertx = Vertx.vertx();
    JsonObject config = new JsonObject()
        .put("portals", new JsonArray().add(new JsonObject().put("address", HOST + ":0").put("transport", "iser-iwarp")))
        .put("targets", new JsonArray().add(new JsonObject().put("name", TARGET).put("acl", "any")
            .put("luns", new JsonArray()
                .add(new JsonObject().put("lun", 0).put("backing", "memory").put("size", "128M")))))
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

  private static VerifyWorkload.Result verify(String style) {
    IscsiUrl url = new IscsiUrl(HOST, port, TARGET, 0, InitiatorOptions.TRANSPORT_ISER_IWARP, style);
    VerifyWorkload.Result r = ItSupport.verifyClean(new VerifyWorkload.Settings(url, 2, 2, 32, Duration.ofSeconds(8),
        Duration.ofSeconds(2), 0, 0, 512, 1 << 20, 42, 64L << 20));
    assertTrue(r.recoveries() >= 2, "each killed connection is a recovery: " + r);
    return r;
  }

  @Test
  void erl2ReassignsTasksOfKilledConnectionsRfc7145() {
    verify(InitiatorOptions.ISER_STYLE_RFC7145);
  }

  @Test
  void erl2ReassignsTasksOfKilledConnectionsRfc5046() {
    verify(InitiatorOptions.ISER_STYLE_RFC5046);
  }

  @Test
  void furtherConnectionOfAnRfc5046SessionRunsIser() {
    IscsiInitiator ini = IscsiInitiator.create(vertx, new InitiatorOptions()
        .setTransport(InitiatorOptions.TRANSPORT_ISER_IWARP).setIserStyle(InitiatorOptions.ISER_STYLE_RFC5046)
        .setMaxConnections(2));
    try {
      Session s = ItSupport.loginReady(ini, HOST, port, TARGET);
      try {
        assertEquals(2, s.connections().size());
        assertTrue(s.parameters().rdmaExtensions(), s.parameters().toString());
        IscsiService.SessionInfo info = server.iscsi().sessions().stream().filter(i -> i.tsih() == s.tsih())
            .findFirst().orElseThrow();
        List<IscsiService.ConnectionInfo> cs = info.connections();
        assertEquals(2, cs.size(), info.toString());
        for (IscsiService.ConnectionInfo c : cs) {
          assertTrue(c.params().rdmaExtensions(), "every connection in iSER-assisted mode: " + c);
        }
        // Both connections carry commands (the session spreads them): data moves both ways.
        for (int i = 0; i < 8; i++) {
          byte[] block = new byte[4096];
          java.util.Arrays.fill(block, (byte) i);
          try (var w = Await.result(s.write(0, 8L * i, io.netty.buffer.Unpooled.wrappedBuffer(block), 512))) {
            assertTrue(w.isGood(), w.toString());
          }
          try (var r = Await.result(s.read(0, 8L * i, 8, 512))) {
            assertTrue(r.isGood(), r.toString());
            assertEquals(io.netty.buffer.Unpooled.wrappedBuffer(block), r.data());
          }
        }
      } finally {
        Await.result(s.logout());
      }
    } finally {
      Await.result(ini.close());
    }
  }
}
