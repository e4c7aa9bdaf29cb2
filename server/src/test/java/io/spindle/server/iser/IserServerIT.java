package io.spindle.server.iser;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.spindle.initiator.Await;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.IscsiInitiator;
import io.spindle.initiator.Session;
import io.spindle.initiator.cli.IscsiUrl;
import io.spindle.initiator.cli.VerifyWorkload;
import io.spindle.server.ItSupport;
import io.spindle.server.SpindleServer;
import io.spindle.server.config.ServerConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The real server with an iSCSI/TCP portal and an iSER portal on the software iWARP RNIC
 * ({@code "transport": "iser-iwarp"}), driven over iSER by the project's initiator: login in
 * iSER-assisted mode (Sends), Data-In by RDMA Write, Data-Out pulled by RDMA Read, and the verify
 * workload with mixed sizes at queue depth 32.
 */
class IserServerIT {

  static final String TARGET = "iqn.2026-11.io.spindle:iser";
  static final int BLOCK = 512;
  static final String ISER_HOST = "127.0.0.2";

  static Vertx vertx;
  static SpindleServer server;
  static int tcpPort;
  static int iserPort;
  static IscsiInitiator iser;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    server = SpindleServer.start(vertx, ServerConfig.fromJson(config())).await(30, TimeUnit.SECONDS);
    tcpPort = server.ports().get(0);
    iserPort = server.ports().get(1);
    iser = IscsiInitiator.create(vertx, new InitiatorOptions().setTransport(InitiatorOptions.TRANSPORT_ISER_IWARP));
  }

  static JsonObject config() {
    return new JsonObject()
        .put("portals", new JsonArray()
            .add(new JsonObject().put("address", "127.0.0.1:0"))
            // ServerConfig refuses the same address twice, port 0 included: another loopback address.
            .add(new JsonObject().put("address", ISER_HOST + ":0").put("transport", "iser-iwarp")))
        .put("targets", new JsonArray().add(new JsonObject().put("name", TARGET).put("acl", "any")
            .put("luns", new JsonArray()
                .add(new JsonObject().put("lun", 0).put("backing", "memory").put("size", "64M")))));
  }

  @AfterAll
  static void stop() throws Exception {
    if (iser != null) Await.result(iser.close());
    if (server != null) server.stop().await(30, TimeUnit.SECONDS);
    if (vertx != null) vertx.close().await(10, TimeUnit.SECONDS);
  }

  static Session login(IscsiInitiator ini, int port) {
    return ItSupport.loginReady(ini, port == iserPort ? ISER_HOST : "127.0.0.1", port, TARGET);
  }

  @Test
  void loginNegotiatesRdmaExtensionsAndMovesDataBothWays() {
    Session s = login(iser, iserPort);
    try {
      assertEquals("Yes", s.parameters().targetValue("RDMAExtensions"), s.parameters().toString());
      ItSupport.writeReadBack(s, 64, BLOCK, "iSER", 512, 4096, 65536, 1 << 20);
      Await.result(s.nop());
    } finally {
      Await.result(s.logout());
    }
  }

  @Test
  void tcpPortalStillServesIscsiTcpAlongside() {
    IscsiInitiator tcp = IscsiInitiator.create(vertx, new InitiatorOptions());
    try {
      Session s = login(tcp, tcpPort);
      assertEquals("No", s.parameters().targetValue("RDMAExtensions") == null ? "No"
          : s.parameters().targetValue("RDMAExtensions"));
      Await.result(s.logout());
    } finally {
      Await.result(tcp.close());
    }
  }

  /**
   * The must-show, bounded to 10 s here. The 60 s run: {@code java -jar ops/initiator/target/spindle-initiator.jar
   * verify iser://127.0.0.1:PORT/TARGET/0 --queue-depth 32 --min-size 512 --max-size 1m --duration 60s}.
   */
  @Test
  void verifyWorkloadOverIserFindsNoMismatch() {
    ItSupport.verifyClean(new VerifyWorkload.Settings(
        new IscsiUrl(ISER_HOST, iserPort, TARGET, 0, InitiatorOptions.TRANSPORT_ISER_IWARP), 0, 1, 32,
        Duration.ofSeconds(10), Duration.ZERO, 0, 0, 512, 1 << 20, 7, 32L << 20));
  }
}
