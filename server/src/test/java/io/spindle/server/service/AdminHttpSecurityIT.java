package io.spindle.server.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.spindle.iscsi.datamover.PortalAddress;
import io.spindle.server.SpindleServer;
import io.spindle.server.admin.AdminHttpBridge;
import io.spindle.server.admin.AdminService;
import io.spindle.server.config.AdminConfig;
import io.spindle.server.config.BackingPathPolicy;
import io.spindle.server.config.ConfigWatcher;
import io.spindle.server.config.ServerConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The admin HTTP API as an attacker meets it: every refused request gets its status and message
 * and changes nothing; and what the backing-path policy and the listener check refuse. The server
 * has a config file here, so accepted changes are written back to it.
 */
class AdminHttpSecurityIT {

  static final String TARGET = "iqn.2026-11.io.spindle:secure";
  static final String TOKEN = "security-it-token-0123456789abcdef";

  @TempDir
  static Path dir;
  static Path configFile;
  static Vertx vertx;
  static SpindleServer server;
  static int http;
  static final HttpClient client = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    JsonObject config = new JsonObject()
        .put("portals", new JsonArray().add(new JsonObject().put("address", "127.0.0.1:0")))
        .put("targets", new JsonArray().add(new JsonObject().put("name", TARGET).put("acl", "any")
            .put("luns", new JsonArray().add(new JsonObject().put("lun", 0).put("backing", "file")
                .put("path", dir.resolve("lun0.img").toString()).put("size", "4M")))))
        .put("storage", new JsonObject().put("allowedDirectories", new JsonArray().add(dir.toString())))
        .put("reload", new JsonObject().put("gracePeriodMillis", 0).put("watch", false));
    configFile = dir.resolve("spindle.json");
    Files.writeString(configFile, config.encodePrettily());
    server = SpindleServer.start(vertx, ServerConfig.fromJson(config)).await(30, TimeUnit.SECONDS);
    ConfigWatcher watcher = new ConfigWatcher(vertx, configFile, UnaryOperator.identity(), server::reconfigure,
        json -> BackingPathPolicy.check(json, server.config()));
    new AdminService(vertx, server, watcher, null, json -> BackingPathPolicy.check(json, server.config()))
        .register().await(10, TimeUnit.SECONDS);
    http = AdminHttpBridge.start(vertx, AdminConfig.at(PortalAddress.parse("127.0.0.1:0")), TOKEN)
        .await(10, TimeUnit.SECONDS).actualPort();
    server.reserve("admin.address (listening)", new PortalAddress("127.0.0.1", http));
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) server.stop().await(30, TimeUnit.SECONDS);
    if (vertx != null) vertx.close().await(10, TimeUnit.SECONDS);
  }

  static HttpRequest.Builder to(String op) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http + "/admin/" + op));
  }

  static HttpResponse<String> send(HttpRequest.Builder r) throws Exception {
    return client.send(r.build(), HttpResponse.BodyHandlers.ofString());
  }

  static String message(HttpResponse<String> r) {
    return new JsonObject(r.body()).getJsonObject("error").getString("message");
  }

  static HttpResponse<String> post(String op, JsonObject body) throws Exception {
    return send(to(op).header("Authorization", "Bearer " + TOKEN).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body.encode())));
  }

  static JsonObject lunAdd(int n, JsonObject lun) {
    return new JsonObject().put("target", TARGET).put("lun", lun.put("lun", n));
  }

  static int luns() throws Exception {
    HttpResponse<String> r = send(to("targets.list").header("Authorization", "Bearer " + TOKEN).GET());
    assertEquals(200, r.statusCode(), r.body());
    return new JsonObject(r.body()).getJsonArray("targets").getJsonObject(0).getJsonArray("luns").size();
  }

  @Test
  void refusedRequestsChangeNothing() throws Exception {
    int before = luns();
    String add = lunAdd(7, new JsonObject().put("backing", "memory").put("size", "1M")).encode();

    HttpResponse<String> none = send(to("luns.add").header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(add)));
    assertEquals(401, none.statusCode());
    assertTrue(message(none).contains("no Authorization header"), none.body());
    assertTrue(none.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"));

    HttpResponse<String> wrong = send(to("luns.add").header("Authorization", "Bearer " + TOKEN + "x")
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(add)));
    assertEquals(401, wrong.statusCode());
    assertTrue(message(wrong).contains("wrong token"), wrong.body());

    HttpResponse<String> basic = send(to("targets.list").header("Authorization", "Basic dXNlcjpwYXNz").GET());
    assertEquals(401, basic.statusCode());

    // What a web page can send without a CORS preflight: a text/plain POST with its Origin.
    HttpResponse<String> crossOrigin = send(to("luns.add").header("Origin", "http://evil.example")
        .header("Content-Type", "text/plain").POST(HttpRequest.BodyPublishers.ofString(add)));
    assertEquals(401, crossOrigin.statusCode());
    HttpResponse<String> crossOriginWithToken = send(to("luns.add").header("Authorization", "Bearer " + TOKEN)
        .header("Origin", "http://evil.example").header("Content-Type", "text/plain")
        .POST(HttpRequest.BodyPublishers.ofString(add)));
    assertEquals(403, crossOriginWithToken.statusCode());
    assertTrue(message(crossOriginWithToken).contains("cross-origin"), crossOriginWithToken.body());

    HttpResponse<String> textPlain = send(to("luns.add").header("Authorization", "Bearer " + TOKEN)
        .header("Content-Type", "text/plain").POST(HttpRequest.BodyPublishers.ofString(add)));
    assertEquals(415, textPlain.statusCode());
    assertTrue(message(textPlain).contains("application/json"), textPlain.body());

    HttpResponse<String> get = send(to("luns.add?target=" + TARGET + "&lun=7").header("Authorization", "Bearer " + TOKEN)
        .GET());
    assertEquals(405, get.statusCode());
    assertTrue(message(get).contains("changes state: use POST"), get.body());
    assertEquals("POST", get.headers().firstValue("Allow").orElse(""));
    HttpResponse<String> getExport = send(to("config.export").header("Authorization", "Bearer " + TOKEN).GET());
    assertEquals(405, getExport.statusCode());

    assertEquals(before, luns());
    // The same request done properly works, with the same token.
    HttpResponse<String> ok = post("luns.add", new JsonObject(add));
    assertEquals(200, ok.statusCode(), ok.body());
    assertEquals(configFile.toString(), new JsonObject(ok.body()).getString("persisted"));
    assertEquals(before + 1, luns());
    assertEquals(200, post("luns.remove", new JsonObject().put("target", TARGET).put("lun", 7)).statusCode());
  }

  @Test
  void backingPathsOutsideThePolicyAreRefused() throws Exception {
    int before = luns();
    HttpResponse<String> passwd = post("luns.add", lunAdd(2, new JsonObject().put("path", "/etc/passwd")
        .put("size", "4K")));
    assertEquals(400, passwd.statusCode());
    assertTrue(message(passwd).contains("/etc/passwd is outside the allowed directories"), passwd.body());

    Path link = dir.resolve("escape.img");
    Files.deleteIfExists(link);
    Files.createSymbolicLink(link, Path.of("/etc/hostname"));
    HttpResponse<String> viaLink = post("luns.add", lunAdd(2, new JsonObject().put("path", link.toString())
        .put("size", "4K")));
    assertEquals(400, viaLink.statusCode());
    assertTrue(message(viaLink).contains("outside the allowed directories"), viaLink.body());

    HttpResponse<String> device = post("luns.add", lunAdd(2, new JsonObject().put("path", "/dev/null").put("size", "4K")));
    assertEquals(400, device.statusCode());
    assertTrue(message(device).contains("device node"), device.body());

    HttpResponse<String> twice = post("luns.add", lunAdd(2, new JsonObject()
        .put("path", dir.resolve("lun0.img").toString()).put("size", "4M")));
    assertEquals(400, twice.statusCode());
    assertTrue(message(twice).contains("already backs"), twice.body());

    Path small = dir.resolve("small.img");
    Files.write(small, new byte[4096]);
    HttpResponse<String> size = post("luns.add", lunAdd(3, new JsonObject().put("path", small.toString())
        .put("size", "1M")));
    assertEquals(400, size.statusCode());
    assertTrue(message(size).contains("exists with 4096 bytes"), size.body());
    assertEquals(before, luns());

    HttpResponse<String> resized = post("luns.add", lunAdd(3, new JsonObject().put("path", small.toString())
        .put("size", "1M").put("resize", true)));
    assertEquals(200, resized.statusCode(), resized.body());
    assertEquals(1L << 20, Files.size(small));
    // The file keeps what the operator said, resize flag included; the previous file is the .bak.
    JsonObject saved = new JsonObject(Files.readString(configFile));
    assertTrue(saved.encode().contains("\"resize\":true"), saved.encode());
    assertTrue(Files.exists(dir.resolve("spindle.json.bak")));
    assertEquals(200, post("luns.remove", new JsonObject().put("target", TARGET).put("lun", 3)).statusCode());
  }

  @Test
  void aPortalOnTheAdminPortIsRefused() throws Exception {
    HttpResponse<String> r = post("portals.add", new JsonObject().put("portal",
        new JsonObject().put("address", "127.0.0.1:" + http)));
    assertEquals(400, r.statusCode());
    assertTrue(message(r).contains("collides with admin.address"), r.body());
    HttpResponse<String> wildcard = post("portals.add", new JsonObject().put("portal",
        new JsonObject().put("address", "0.0.0.0:" + http)));
    assertEquals(400, wildcard.statusCode());
    HttpResponse<String> list = send(to("portals.list").header("Authorization", "Bearer " + TOKEN).GET());
    assertEquals(1, new JsonObject(list.body()).getJsonArray("portals").size());
  }

  @Test
  void tlsWithAConfiguredCertificate(@TempDir Path tls) throws Exception {
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/openssl")), "openssl is not installed: TLS not tested");
    Path key = tls.resolve("key.pem");
    Path cert = tls.resolve("cert.pem");
    Process p = new ProcessBuilder("/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key.toString(), "-out", cert.toString(), "-days", "2",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1").redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.waitFor(), out);
    int port = AdminHttpBridge.start(vertx, AdminConfig.at(PortalAddress.parse("127.0.0.1:0")).withTls(cert, key),
        TOKEN).await(10, TimeUnit.SECONDS).actualPort();
    HttpClient trusting = HttpClient.newBuilder().sslContext(TestTls.trusting(cert)).build();
    HttpResponse<String> ok = trusting.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port
        + "/admin/targets.list")).header("Authorization", "Bearer " + TOKEN).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, ok.statusCode(), ok.body());
    HttpResponse<String> noToken = trusting.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port
        + "/admin/targets.list")).GET().build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(401, noToken.statusCode());
    // Plain HTTP to the TLS port does not get an answer from the API.
    boolean plainFailed;
    try {
      plainFailed = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/admin/targets.list"))
          .header("Authorization", "Bearer " + TOKEN).GET().build(), HttpResponse.BodyHandlers.ofString())
          .statusCode() != 200;
    } catch (java.io.IOException e) {
      plainFailed = true;
    }
    assertTrue(plainFailed);
    assertFalse(ok.body().isEmpty());
  }
}
