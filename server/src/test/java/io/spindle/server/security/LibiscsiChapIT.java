package io.spindle.server.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.server.SpindleServer;
import io.spindle.server.config.ServerConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * libiscsi's tools (Debian libiscsi-bin) against ops/examples/chap.json, on port 0 and a memory LUN:
 * one-way and mutual CHAP, wrong secrets, and an initiator outside the ACL.
 */
class LibiscsiChapIT {

  static final String IQN = "iqn.2026-11.io.spindle:chap";
  static final String CLIENT = "iqn.2026-11.io.spindle:client";
  static final String STRANGER = "iqn.2026-11.io.spindle:stranger";

  static Vertx vertx;
  static SpindleServer server;
  static int port;

  record Run(int code, String output) {
  }

  @BeforeAll
  static void start() throws Exception {
    Assumptions.assumeTrue(onPath("iscsi-inq") && onPath("iscsi-ls"), "install libiscsi-bin");
    JsonObject config = new JsonObject(Files.readString(Path.of("../ops/examples/chap.json")));
    assertEquals("127.0.0.1:3260", config.getJsonArray("portals").getJsonObject(0).getString("address"));
    config.getJsonArray("portals").getJsonObject(0).put("address", "127.0.0.1:0");
    config.getJsonArray("targets").getJsonObject(0).put("luns", new JsonArray()
        .add(new JsonObject().put("lun", 0).put("backing", "memory").put("size", "16M")));
    vertx = Vertx.vertx();
    server = SpindleServer.start(vertx, ServerConfig.fromJson(config)).await(30, TimeUnit.SECONDS);
    port = server.ports().get(0);
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) server.stop().await(30, TimeUnit.SECONDS);
    if (vertx != null) vertx.close().await(10, TimeUnit.SECONDS);
  }

  static boolean onPath(String tool) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) return true;
    }
    return false;
  }

  static Run run(String... command) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(command));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(cmd + " did not finish within 60 s");
    }
    return new Run(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
  }

  private String url(String credentials, String query) {
    return "iscsi://" + credentials + "@127.0.0.1:" + port + "/" + IQN + "/0" + query;
  }

  @Test
  void oneWayChap() throws Exception {
    Run r = run("iscsi-inq", "-i", CLIENT, url("client%client-secret-1234", ""));
    assertEquals(0, r.code(), r.output());
    assertTrue(r.output().contains("Spindle") || r.output().toLowerCase().contains("vendor"), r.output());
  }

  @Test
  void mutualChap() throws Exception {
    Run r = run("iscsi-inq", "-i", CLIENT,
        url("client%client-secret-1234", "?target_user=target&target_password=target-secret-5678"));
    assertEquals(0, r.code(), r.output());
  }

  @Test
  void wrongSecretsFail() throws Exception {
    assertNotEquals(0, run("iscsi-inq", "-i", CLIENT, url("client%client-secret-9999", "")).code());
    // The target cannot prove a secret the initiator expects wrongly: libiscsi drops the login.
    assertNotEquals(0, run("iscsi-inq", "-i", CLIENT,
        url("client%client-secret-1234", "?target_user=target&target_password=wrong-target-secret")).code());
  }

  @Test
  void anInitiatorOutsideTheAclNeitherSeesNorReachesTheTarget() throws Exception {
    Run seen = run("iscsi-ls", "-i", CLIENT, "iscsi://127.0.0.1:" + port);
    assertEquals(0, seen.code(), seen.output());
    assertTrue(seen.output().contains(IQN), seen.output());
    Run hidden = run("iscsi-ls", "-i", STRANGER, "iscsi://127.0.0.1:" + port);
    assertFalse(hidden.output().contains(IQN), hidden.output());
    assertNotEquals(0, run("iscsi-inq", "-i", STRANGER, url("client%client-secret-1234", "")).code());
  }
}
