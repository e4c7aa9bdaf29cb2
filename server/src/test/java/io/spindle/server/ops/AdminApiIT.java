package io.spindle.server.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.spindle.initiator.Await;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.IscsiInitiator;
import io.spindle.initiator.ScsiResponse;
import io.spindle.initiator.Session;
import io.spindle.iscsi.datamover.PortalAddress;
import io.spindle.server.SpindleServer;
import io.spindle.server.admin.AdminHttpBridge;
import io.spindle.server.admin.AdminService;
import io.spindle.server.config.AdminConfig;
import io.spindle.server.config.ServerConfig;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every admin API operation over the event bus, good and bad requests, and the HTTP bridge. */
class AdminApiIT {

  static final String TARGET = "iqn.2026-11.io.spindle:admin";
  static final String ADDED = "iqn.2026-11.io.spindle:admin-added";
  static final String TOKEN = "admin-api-it-token-0123456789";

  static Vertx vertx;
  static SpindleServer server;
  static IscsiInitiator initiator;
  static int http;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    JsonObject config = new JsonObject()
        .put("portals", new JsonArray().add(new JsonObject().put("address", "127.0.0.1:0")))
        .put("targets", new JsonArray().add(new JsonObject().put("name", TARGET).put("acl", "any").put("alias", "admin test")
            .put("luns", new JsonArray().add(new JsonObject().put("lun", 0).put("backing", "memory")
                .put("size", "8M")))))
        .put("reload", new JsonObject().put("gracePeriodMillis", 0));
    server = SpindleServer.start(vertx, ServerConfig.fromJson(config)).await(30, TimeUnit.SECONDS);
    new AdminService(vertx, server, null, "node1").register().await(10, TimeUnit.SECONDS);
    http = AdminHttpBridge.start(vertx, AdminConfig.at(PortalAddress.parse("127.0.0.1:0")), TOKEN)
        .await(10, TimeUnit.SECONDS).actualPort();
    initiator = IscsiInitiator.create(vertx, new InitiatorOptions());
  }

  @AfterAll
  static void stop() throws Exception {
    if (initiator != null) Await.result(initiator.close());
    if (server != null) server.stop().await(30, TimeUnit.SECONDS);
    if (vertx != null) vertx.close().await(10, TimeUnit.SECONDS);
  }

  static JsonObject call(String op, Object body) {
    return Await.result(vertx.eventBus().<JsonObject>request(AdminService.PREFIX + op, body)).body();
  }

  static ReplyException fails(int code, String op, Object body) {
    Exception e = assertThrows(Exception.class, () -> call(op, body));
    Throwable c = e;
    while (c != null && !(c instanceof ReplyException)) c = c.getCause();
    assertNotNull(c, "not a ReplyException: " + e);
    ReplyException r = (ReplyException) c;
    assertEquals(code, r.failureCode(), op + " " + body + ": " + r.getMessage());
    return r;
  }

  static JsonObject lun(int n, String size) {
    return new JsonObject().put("lun", n).put("backing", "memory").put("size", size);
  }

  static int port() {
    return server.ports().get(0);
  }

  @Test
  void targetsAndLuns() {
    JsonArray targets = call("targets.list", new JsonObject()).getJsonArray("targets");
    assertEquals(1, targets.size());
    JsonObject t = targets.getJsonObject(0);
    assertEquals(TARGET, t.getString("name"));
    assertEquals("admin test", t.getString("alias"));
    assertEquals(8L * 1024 * 1024 / 512, t.getJsonArray("luns").getJsonObject(0).getLong("blocks"));

    JsonObject added = call("targets.add", new JsonObject().put("target", new JsonObject().put("name", ADDED).put("acl", "any")
        .put("luns", new JsonArray().add(lun(0, "4M")))));
    assertEquals(new JsonArray().add(ADDED), added.getJsonObject("changes").getJsonArray("targetsAdded"));
    Session s = Await.result(initiator.login("127.0.0.1", port(), ADDED, 0x600001L));
    Await.result(s.logout());
    fails(409, "targets.add", new JsonObject().put("target", new JsonObject().put("name", ADDED).put("acl", "any")
        .put("luns", new JsonArray().add(lun(0, "4M")))));
    assertTrue(fails(400, "targets.add", new JsonObject().put("target", new JsonObject().put("name", "Not-An-IQN")
        .put("luns", new JsonArray().add(lun(0, "4M"))))).getMessage().contains(".name"));
    fails(400, "targets.add", new JsonObject());
    fails(400, "targets.add", new JsonObject().put("target", "iqn.2026-11.io.spindle:x"));

    call("luns.add", new JsonObject().put("target", ADDED).put("lun", lun(3, "1M")));
    assertEquals(2, call("targets.list", null).getJsonArray("targets").getJsonObject(1).getJsonArray("luns").size());
    fails(409, "luns.add", new JsonObject().put("target", ADDED).put("lun", lun(3, "1M")));
    fails(404, "luns.add", new JsonObject().put("target", "iqn.2026-11.io.spindle:nope").put("lun", lun(1, "1M")));
    fails(400, "luns.add", new JsonObject().put("target", ADDED).put("lun", new JsonObject().put("size", "1M")));
    assertTrue(fails(400, "luns.add", new JsonObject().put("target", ADDED).put("lun", lun(4, "12345")))
        .getMessage().contains("size"));
    call("luns.remove", new JsonObject().put("target", ADDED).put("lun", 3));
    fails(404, "luns.remove", new JsonObject().put("target", ADDED).put("lun", 3));
    fails(400, "luns.remove", new JsonObject().put("target", ADDED).put("lun", "three"));
    // The last LUN cannot go: a target needs at least one.
    assertTrue(fails(400, "luns.remove", new JsonObject().put("target", ADDED).put("lun", 0)).getMessage()
        .contains("luns"));

    JsonObject removed = call("targets.remove", new JsonObject().put("name", ADDED).put("acl", "any"));
    assertEquals(new JsonArray().add(ADDED), removed.getJsonObject("changes").getJsonArray("targetsRemoved"));
    fails(404, "targets.remove", new JsonObject().put("name", ADDED).put("acl", "any"));
    fails(400, "targets.remove", new JsonObject());
  }

  @Test
  void portals() throws Exception {
    JsonObject added = call("portals.add", new JsonObject().put("portal", new JsonObject()
        .put("address", "127.0.0.5:0").put("portalGroupTag", 1)));
    assertEquals(1, added.getJsonObject("changes").getJsonArray("portalsAdded").size());
    JsonArray portals = call("portals.list", null).getJsonArray("portals");
    JsonObject p = portals.stream().map(JsonObject.class::cast)
        .filter(x -> x.getString("address").equals("127.0.0.5:0")).findFirst().orElseThrow();
    int listening = PortalAddress.parse(p.getString("listening")).port();
    assertTrue(listening > 0);
    Session s = Await.result(initiator.login("127.0.0.5", listening, TARGET, 0x600002L));
    Await.result(s.logout());
    fails(409, "portals.add", new JsonObject().put("portal", new JsonObject().put("address", "127.0.0.5:0")));
    assertTrue(fails(400, "portals.add", new JsonObject().put("portal", new JsonObject().put("address", "127.0.0.1:99999")))
        .getMessage().contains("address"));
    call("portals.remove", new JsonObject().put("address", "127.0.0.5:0"));
    fails(404, "portals.remove", new JsonObject().put("address", "127.0.0.5:0"));
    // The last portal cannot go.
    fails(400, "portals.remove", new JsonObject().put("address", "127.0.0.1:0"));
  }

  @Test
  void sessionsConnectionsStatsAndLogout() throws Exception {
    Session s = Await.result(initiator.login("127.0.0.1", port(), TARGET, 0x600003L));
    Await.result(s.testUnitReady(0)).close();
    try (ScsiResponse w = Await.result(s.write(0, 0, Unpooled.wrappedBuffer(new byte[4096]), 512))) {
      assertTrue(w.isGood());
    }
    Await.result(s.read(0, 0, 8, 512)).close();

    JsonArray sessions = call("sessions.list", new JsonObject().put("target", TARGET)).getJsonArray("sessions");
    JsonObject mine = sessions.stream().map(JsonObject.class::cast).filter(x -> x.getInteger("tsih") == s.tsih())
        .findFirst().orElseThrow();
    assertEquals("normal", mine.getString("type"));
    assertEquals("0x000000600003", mine.getString("isid"));
    assertEquals(InitiatorOptions.DEFAULT_INITIATOR_NAME, mine.getString("initiatorName"));
    // The initiator offers 262144 and the target accepts up to 1 MiB: the minimum wins (RFC 7143 §13.13).
    assertEquals(InitiatorOptions.DEFAULT_MAX_BURST_LENGTH,
        mine.getJsonObject("parameters").getInteger("MaxBurstLength"));
    assertEquals("None", mine.getJsonArray("connections").getJsonObject(0).getJsonObject("parameters")
        .getString("HeaderDigest"));
    assertTrue(call("sessions.list", new JsonObject().put("target", "iqn.2026-11.io.spindle:other"))
        .getJsonArray("sessions").isEmpty());

    JsonArray connections = call("connections.list", null).getJsonArray("connections");
    assertTrue(connections.stream().map(JsonObject.class::cast).anyMatch(c -> Integer.valueOf(s.tsih())
        .equals(c.getInteger("tsih")) && c.getString("state").equals("full_feature")), connections.encode());

    JsonObject stats = call("stats", new JsonObject().put("target", TARGET));
    JsonObject lun0 = stats.getJsonArray("targets").getJsonObject(0).getJsonArray("luns").getJsonObject(0);
    assertTrue(lun0.getLong("writes") >= 1 && lun0.getLong("reads") >= 1, lun0.encode());
    assertTrue(lun0.getLong("bytesWritten") >= 4096, lun0.encode());
    assertTrue(lun0.getJsonObject("latencySeconds").getLong("count") >= 3, lun0.encode());
    assertTrue(stats.getJsonArray("sessions").stream().map(JsonObject.class::cast)
        .anyMatch(x -> x.getInteger("tsih") == s.tsih()));

    assertTrue(call("sessions.logout", new JsonObject().put("tsih", s.tsih())).getBoolean("closed"));
    Await.result(s.connection().closeFuture(), Duration.ofSeconds(30));
    fails(404, "sessions.logout", new JsonObject().put("tsih", s.tsih()));
    fails(400, "sessions.logout", new JsonObject().put("tsih", "one"));
  }

  @Test
  void reloadConfigGetAndBadBodies() {
    JsonObject config = call("config.get", null).getJsonObject("config");
    assertEquals(TARGET, config.getJsonArray("targets").getJsonObject(0).getString("name"));
    // No config file here: reload needs the configuration in the request.
    fails(409, "reload", new JsonObject());
    JsonObject same = call("reload", new JsonObject().put("config", config));
    assertTrue(same.getJsonObject("changes").getJsonArray("targetsAdded").isEmpty());
    JsonObject bad = config.copy().put("negotiation", new JsonObject().put("maxBurstLength", 1));
    assertTrue(fails(400, "reload", new JsonObject().put("config", bad)).getMessage()
        .contains("negotiation.maxBurstLength"));
    fails(400, "reload", new JsonObject().put("config", "x"));
    fails(400, "targets.list", "not an object");
    // Node-specific addresses reach the same operations.
    assertEquals(1, Await.result(vertx.eventBus().<JsonObject>request("spindle.admin.node.node1.targets.list",
        new JsonObject())).body().getJsonArray("targets").size());
  }

  static HttpRequest.Builder authorized(String op) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http + "/admin/" + op))
        .header("Authorization", "Bearer " + TOKEN).header("Content-Type", "application/json");
  }

  @Test
  void httpBridge() throws Exception {
    HttpClient c = HttpClient.newHttpClient();
    HttpResponse<String> ok = c.send(authorized("targets.list")
        .POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, ok.statusCode());
    assertEquals(TARGET, new JsonObject(ok.body()).getJsonArray("targets").getJsonObject(0).getString("name"));

    HttpResponse<String> missing = c.send(authorized("targets.remove")
        .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"iqn.2026-11.x:y\"}")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(404, missing.statusCode());
    assertEquals(404, new JsonObject(missing.body()).getJsonObject("error").getInteger("code"));

    HttpResponse<String> badJson = c.send(authorized("targets.add")
        .POST(HttpRequest.BodyPublishers.ofString("{nope")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(400, badJson.statusCode());

    HttpResponse<String> noOp = c.send(authorized("frobnicate").GET().build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(404, noOp.statusCode());
    assertFalse(new JsonObject(noOp.body()).getJsonObject("error").getString("message").isEmpty());
  }
}
