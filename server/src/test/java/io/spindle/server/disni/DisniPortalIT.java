package io.spindle.server.disni;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.netty.buffer.Unpooled;
import io.spindle.initiator.Await;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.IscsiInitiator;
import io.spindle.initiator.ScsiResponse;
import io.spindle.initiator.Session;
import io.spindle.rdma.RdmaProvider;
import io.spindle.server.SpindleServer;
import io.spindle.server.config.ServerConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * An {@code iser-disni} portal on a host without libdisni or an RDMA device (issue 9): it fails at
 * start with one error that says what is missing and how to provide it, and the tcp portal of the
 * same configuration serves I/O.
 */
class DisniPortalIT {

  static final String TARGET = "iqn.2026-11.io.spindle:disni-it";
  static final int BLOCK = 512;

  private Vertx vertx;
  private SpindleServer server;
  private IscsiInitiator initiator;
  private final ListAppender<ILoggingEvent> log = new ListAppender<>();
  private final Logger serverLog = (Logger) LoggerFactory.getLogger(SpindleServer.class);

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    log.start();
    serverLog.addAppender(log);
  }

  @AfterEach
  void tearDown() throws Exception {
    serverLog.detachAppender(log);
    if (initiator != null) Await.result(initiator.close());
    if (server != null) server.stop().await(30, TimeUnit.SECONDS);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void disniPortalFailsAloneWithOneClearErrorAndTheTcpPortalServes() throws Exception {
    assumeTrue(SpindleServer.transports().containsKey("iser-disni"),
        "the iser transport is not on the server's class path");
    Throwable probe = RdmaProvider.load("disni").open(vertx, new JsonObject()).toCompletionStage()
        .toCompletableFuture().handle((d, e) -> e).get(30, TimeUnit.SECONDS);
    assumeTrue(probe != null, "this host can run DiSNI (libdisni and an RDMA device are present)");

    JsonObject config = new JsonObject()
        .put("portals", new JsonArray()
            .add(new JsonObject().put("address", "127.0.0.1:0"))
            .add(new JsonObject().put("address", "127.0.0.1:13260").put("transport", "iser-disni")))
        .put("targets", new JsonArray().add(new JsonObject().put("name", TARGET).put("acl", "any")
            .put("luns", new JsonArray().add(new JsonObject().put("lun", 0).put("backing", "memory").put("size", "8M")))));
    server = SpindleServer.start(vertx, ServerConfig.fromJson(config)).await(30, TimeUnit.SECONDS);

    List<ILoggingEvent> errors = log.list.stream().filter(e -> e.getLevel() == Level.ERROR).toList();
    assertEquals(1, errors.size(), () -> "one error for the DiSNI portal: " + errors);
    String message = errors.get(0).getFormattedMessage();
    assertTrue(message.startsWith("portal 127.0.0.1:13260 (iser-disni) not serving: "), message);
    assertTrue(message.contains("DiSNI RDMA provider unavailable"), message);
    assertTrue(message.contains("libdisni.so") || message.contains("no RDMA device"), message);
    assertTrue(message.contains("docs/DISNI.md"), message);
    assertEquals(1, server.ports().size(), "only the tcp portal serves");

    int port = server.ports().get(0);
    initiator = IscsiInitiator.create(vertx, new InitiatorOptions());
    Session s = Await.result(initiator.login("127.0.0.1", port, TARGET));
    try {
      try (ScsiResponse t = Await.result(s.testUnitReady(0))) {
        assertTrue(t.isGood(), "a new session starts without a unit attention: " + t);
      }
      byte[] data = new byte[64 * 1024];
      new Random(9).nextBytes(data);
      try (ScsiResponse w = Await.result(s.write(0, 8, Unpooled.wrappedBuffer(data.clone()), BLOCK))) {
        assertTrue(w.isGood(), "write: " + w);
      }
      try (ScsiResponse r = Await.result(s.read(0, 8, data.length / BLOCK, BLOCK))) {
        assertTrue(r.isGood(), "read: " + r);
        byte[] got = new byte[r.data().readableBytes()];
        r.data().getBytes(r.data().readerIndex(), got);
        assertArrayEquals(data, got);
      }
    } finally {
      Await.result(s.logout());
    }
  }
}
