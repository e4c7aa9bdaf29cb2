package io.spindle.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.iscsi.datamover.PortalAddress;
import io.spindle.server.SpindleServer;
import io.spindle.server.admin.AdminHttpBridge;
import io.spindle.server.admin.AdminService;
import io.spindle.server.config.AdminConfig;
import io.spindle.server.config.ServerConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI against a real server's HTTP bridge. */
class SpindleCliIT {

  static final String TARGET = "iqn.2026-11.io.spindle:cli";
  static Vertx vertx;
  static SpindleServer server;
  static String admin;
  static final String TOKEN = "spindle-cli-it-token-0123456789";
  static Path tokenFile;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    JsonObject config = new JsonObject()
        .put("portals", new JsonArray().add(new JsonObject().put("address", "127.0.0.1:0")))
        .put("targets", new JsonArray().add(new JsonObject().put("name", TARGET).put("acl", "any").put("luns", new JsonArray()
            .add(new JsonObject().put("lun", 0).put("backing", "memory").put("size", "4M")))))
        .put("reload", new JsonObject().put("gracePeriodMillis", 0));
    server = SpindleServer.start(vertx, ServerConfig.fromJson(config)).await(30, TimeUnit.SECONDS);
    new AdminService(vertx, server, null, null).register().await(10, TimeUnit.SECONDS);
    int port = AdminHttpBridge.start(vertx, AdminConfig.at(PortalAddress.parse("127.0.0.1:0")), TOKEN)
        .await(10, TimeUnit.SECONDS).actualPort();
    admin = "127.0.0.1:" + port;
    tokenFile = Files.createTempFile("spindle-cli-it", ".token");
    Files.writeString(tokenFile, TOKEN + "\n");
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) server.stop().await(30, TimeUnit.SECONDS);
    if (vertx != null) vertx.close().await(10, TimeUnit.SECONDS);
    if (tokenFile != null) Files.deleteIfExists(tokenFile);
  }

  record Result(int code, String out, String err) {
  }

  static Result cli(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    String[] all = new String[args.length + 4];
    all[0] = "--admin";
    all[1] = admin;
    all[2] = "--token-file";
    all[3] = tokenFile.toString();
    System.arraycopy(args, 0, all, 4, args.length);
    int code = SpindleCli.run(all, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void listsAddsAndRemoves(@TempDir Path dir) throws Exception {
    Result r = cli("targets");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().startsWith("TARGET") && r.out().contains(TARGET) && r.out().contains("memory"), r.out());

    r = cli("lun", "add", TARGET, "1", "backing=file", "path=" + dir.resolve("l1.img"), "size=2M");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("targetsChanged: " + TARGET), r.out());
    r = cli("--json", "targets");
    assertEquals(2, new JsonObject(r.out()).getJsonArray("targets").getJsonObject(0).getJsonArray("luns").size());

    r = cli("lun", "add", TARGET, "1", "backing=memory", "size=1M");
    assertEquals(1, r.code());
    assertTrue(r.err().contains("(409)"), r.err());
    assertEquals(0, cli("lun", "remove", TARGET, "1").code());

    r = cli("target", "add", "iqn.2026-11.io.spindle:cli2", "alias=second", "acl=any", "lun=0,backing=memory,size=1M");
    assertEquals(0, r.code(), r.err());
    assertEquals(0, cli("target", "remove", "iqn.2026-11.io.spindle:cli2").code());

    r = cli("portal", "add", "127.0.0.6:0");
    assertEquals(0, r.code(), r.err());
    r = cli("portals");
    assertTrue(r.out().contains("127.0.0.6:0") && r.out().contains("127.0.0.6:"), r.out());
    assertEquals(0, cli("portal", "remove", "127.0.0.6:0").code());

    assertEquals(0, cli("sessions").code());
    assertEquals(0, cli("connections").code());
    r = cli("stats");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("MEAN_LATENCY_S"), r.out());
    assertEquals(1, cli("logout", "4242").code());

    // No config file on this server: reload needs one from the command line.
    assertEquals(1, cli("reload").code());
    Path file = dir.resolve("next.json");
    Files.writeString(file, new JsonObject(cli("--json", "config").out()).getJsonObject("config").encode());
    r = cli("reload", file.toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().startsWith("no changes\nnot persistent: "), r.out());
  }

  @Test
  void withoutTheTokenTheServerRefuses() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = SpindleCli.run(new String[] {"--admin", admin, "targets"}, System.out,
        new PrintStream(err, true, StandardCharsets.UTF_8));
    assertEquals(1, code);
    String e = err.toString(StandardCharsets.UTF_8);
    assertTrue(e.contains("(401)") && e.contains("--token-file"), e);
  }

  @Test
  void exportWritesTheSecretsForItsOwnerOnlyAndSaveNeedsAFile(@TempDir Path dir) throws Exception {
    Path backup = dir.resolve("backup.json");
    Result r = cli("export", backup.toString());
    assertEquals(0, r.code(), r.err());
    assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
        Files.getPosixFilePermissions(backup)));
    assertEquals(TARGET, new JsonObject(Files.readString(backup)).getJsonArray("targets").getJsonObject(0)
        .getString("name"));
    r = cli("save");
    assertEquals(1, r.code());
    assertTrue(r.err().contains("no config file"), r.err());
    r = cli("lun", "add", TARGET, "5", "backing=memory", "size=1M");
    assertTrue(r.out().contains("not persistent: the server has no config file"), r.out());
    assertEquals(0, cli("lun", "remove", TARGET, "5").code());
  }

  @Test
  void badUsageAndUnreachableServer() {
    assertEquals(2, cli("frobnicate").code());
    assertEquals(2, cli("lun", "add", TARGET).code());
    assertEquals(2, cli("logout", "x").code());
    assertEquals(2, SpindleCli.run(new String[0], System.out, new PrintStream(new ByteArrayOutputStream())));
    Result r = new Result(SpindleCli.run(new String[] {"--admin", "127.0.0.1:1", "targets"}, System.out,
        new PrintStream(new ByteArrayOutputStream())), "", "");
    assertEquals(3, r.code());
  }
}
