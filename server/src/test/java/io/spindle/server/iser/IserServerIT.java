package io.spindle.server.iser;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.spindle.initiator.Await;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.IscsiInitiator;
import io.spindle.initiator.ScsiResponse;
import io.spindle.initiator.Session;
import io.spindle.initiator.cli.IscsiUrl;
import io.spindle.initiator.cli.VerifyWorkload;
import io.spindle.server.SpindleServer;
import io.spindle.server.config.ServerConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Random;
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
    Session s = Await.result(ini.login(port == iserPort ? ISER_HOST : "127.0.0.1", port, TARGET));
    for (int i = 0; i < 2; i++) {
      try (ScsiResponse r = Await.result(s.testUnitReady(0))) {
        if (r.isGood()) return s;
        assertEquals(0x06, r.senseKey(), "TEST UNIT READY: " + r); // a reset by an earlier test, reported once (SAM-5 §5.14)
      }
    }
    return s;
  }

  @Test
  void loginNegotiatesRdmaExtensionsAndMovesDataBothWays() {
    Session s = login(iser, iserPort);
    try {
      assertEquals("Yes", s.parameters().targetValue("RDMAExtensions"), s.parameters().toString());
      for (int size : new int[] {512, 4096, 65536, 1 << 20}) {
        byte[] bytes = new byte[size];
        new Random(size).nextBytes(bytes);
        try (ScsiResponse w = Await.result(s.write(0, 64, Unpooled.wrappedBuffer(bytes.clone()), BLOCK))) {
          assertTrue(w.isGood(), "write of " + size + ": " + w);
        }
        try (ScsiResponse r = Await.result(s.read(0, 64, size / BLOCK, BLOCK))) {
          assertTrue(r.isGood(), "read of " + size + ": " + r);
          byte[] got = new byte[r.data().readableBytes()];
          r.data().getBytes(r.data().readerIndex(), got);
          assertArrayEquals(bytes, got, "data read back over iSER differs (" + size + " bytes)");
        }
      }
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
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    VerifyWorkload.Settings settings = new VerifyWorkload.Settings(
        new IscsiUrl(ISER_HOST, iserPort, TARGET, 0, InitiatorOptions.TRANSPORT_ISER_IWARP), 0, 1, 32,
        Duration.ofSeconds(10), Duration.ZERO, 0, 0, 512, 1 << 20, 7, 32L << 20);
    VerifyWorkload.Result r = new VerifyWorkload(settings, new PrintStream(log, true, StandardCharsets.UTF_8))
        .run(vertx);
    String detail = r + "\n" + log.toString(StandardCharsets.UTF_8);
    assertEquals(0, r.mismatches(), detail);
    assertEquals(0, r.errors(), detail);
    assertTrue(r.commands() > 0, detail);
  }
}
