package io.spindle.server.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server as a service manager runs it: a child JVM started like {@code java -jar spindle.jar},
 * stopped by signals, restarted; its exit codes and what it serves after a restart and a reload.
 * Ports 25180-25199 (the admin helper's range).
 */
class ServiceIT {

  static final String TOKEN = "service-it-token-0123456789abcdef";
  static final String TARGET = "iqn.2026-11.io.spindle:service";
  static final HttpClient client = HttpClient.newHttpClient();

  /** A running child server and its combined log. */
  record Child(Process process, Path log) {
    String output() throws Exception {
      return Files.readString(log);
    }

    void awaitLine(String text) throws Exception {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
      while (!output().contains(text)) {
        if (!process.isAlive()) throw new AssertionError("exited " + process.exitValue() + " before \"" + text + "\":\n" + output());
        if (System.nanoTime() > deadline) throw new AssertionError("no \"" + text + "\" in 90 s:\n" + output());
        Thread.sleep(50);
      }
    }

    void signal(String sig) throws Exception {
      assertEquals(0, new ProcessBuilder("kill", "-" + sig, Long.toString(process.pid())).start().waitFor());
    }

    int exit() throws Exception {
      assertTrue(process.waitFor(90, TimeUnit.SECONDS), "still running:\n" + output());
      return process.exitValue();
    }
  }

  /** Every child started by a test; any still running at its end is killed. */
  static final List<Process> started = new ArrayList<>();

  @AfterEach
  void killLeftovers() {
    started.forEach(Process::destroyForcibly);
    started.clear();
  }

  static Child start(Path dir, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-cp", System.getProperty("java.class.path"), "io.spindle.server.Main"));
    cmd.addAll(List.of(args));
    Path log = Files.createTempFile(dir, "server", ".log");
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
    started.add(p);
    return new Child(p, log);
  }

  static Child serving(Path dir, String... args) throws Exception {
    Child c = start(dir, args);
    c.awaitLine("Spindle serving");
    return c;
  }

  /**
   * Whether this JVM was started with {@code signal} ignored (a background job of a
   * non-interactive shell ignores SIGINT, nohup SIGHUP): a child inherits that, and the server
   * rightly leaves an ignored signal ignored.
   */
  static boolean ignored(int signal) throws Exception {
    for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (l.startsWith("SigIgn:")) return (Long.parseLong(l.substring(7).strip(), 16) & (1L << (signal - 1))) != 0;
    }
    return false;
  }

  @Test
  void sigtermAndSigintStopCleanlyWithExitZero(@TempDir Path dir) throws Exception {
    for (String sig : List.of("TERM", "INT")) {
      if (sig.equals("INT") && ignored(2)) {
        System.out.println("SIGINT is ignored in this test JVM (and so in its children): the SIGINT stop is not tested");
        continue;
      }
      Child c = serving(dir, "--portal", "127.0.0.1:0");
      c.signal(sig);
      assertEquals(0, c.exit(), c.output());
      assertTrue(c.output().contains("stopping (SIG" + sig + ")") && c.output().contains("stopped cleanly"), c.output());
    }
  }

  @Test
  void sighupWithoutAConfigFileIsLoggedAndIgnored(@TempDir Path dir) throws Exception {
    org.junit.jupiter.api.Assumptions.assumeFalse(ignored(1), "SIGHUP is ignored here (nohup?): not tested");
    Child c = serving(dir, "--portal", "127.0.0.1:0");
    c.signal("HUP");
    c.awaitLine("SIGHUP ignored: the server was started without --config");
    assertTrue(c.process().isAlive());
    c.signal("TERM");
    assertEquals(0, c.exit(), c.output());
  }

  @Test
  void versionNamesTheBuild(@TempDir Path dir) throws Exception {
    Child c = start(dir, "--version");
    assertEquals(0, c.exit());
    assertTrue(c.output().matches("spindle \\d+\\.\\d+\\.\\d+(-SNAPSHOT)? \\(commit ([0-9a-f]{12}( with local changes)?"
        + "|unknown)\\)\\n"), c.output());
  }

  static Path config(Path dir, int admin, JsonObject extra) throws Exception {
    Path token = dir.resolve("admin.token");
    Files.writeString(token, TOKEN + "\n");
    Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-------"));
    JsonObject c = new JsonObject()
        .put("portals", new JsonArray().add(new JsonObject().put("address", "127.0.0.1:0")))
        .put("targets", new JsonArray().add(new JsonObject().put("name", TARGET).put("acl", "any")
            .put("luns", new JsonArray().add(new JsonObject().put("lun", 0).put("backing", "memory").put("size", "4M")))))
        .put("admin", new JsonObject().put("address", "127.0.0.1:" + admin)
            .put("token", new JsonObject().put("file", "admin.token")))
        .put("reload", new JsonObject().put("gracePeriodMillis", 0));
    extra.forEach(e -> c.put(e.getKey(), e.getValue()));
    Path file = dir.resolve("spindle.json");
    Files.writeString(file, c.encodePrettily());
    return file;
  }

  static JsonObject post(int port, String op, JsonObject body) throws Exception {
    HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/admin/" + op))
        .header("Authorization", "Bearer " + TOKEN).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body.encode())).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), op + ": " + r.body());
    return new JsonObject(r.body());
  }

  static List<Integer> luns(int port) throws Exception {
    JsonArray luns = post(port, "targets.list", new JsonObject()).getJsonArray("targets").getJsonObject(0)
        .getJsonArray("luns");
    List<Integer> out = new ArrayList<>();
    luns.forEach(l -> out.add(((JsonObject) l).getInteger("lun")));
    return out;
  }

  @Test
  void adminChangesSurviveARestartAndALaterReload(@TempDir Path dir) throws Exception {
    int admin = 25180;
    Path file = config(dir, admin, new JsonObject());
    String original = Files.readString(file);
    Child c = serving(dir, "--config", file.toString());
    JsonObject added = post(admin, "luns.add", new JsonObject().put("target", TARGET)
        .put("lun", new JsonObject().put("lun", 1).put("backing", "memory").put("size", "2M")));
    assertEquals(file.toString(), added.getString("persisted"));
    assertEquals(original, Files.readString(dir.resolve("spindle.json.bak")));
    post(admin, "portals.add", new JsonObject().put("portal", new JsonObject().put("address", "127.0.0.1:25181")));
    assertEquals(List.of(0, 1), luns(admin));
    c.signal("TERM");
    assertEquals(0, c.exit(), c.output());

    Child again = serving(dir, "--config", file.toString());
    assertEquals(List.of(0, 1), luns(admin));
    JsonArray portals = post(admin, "portals.list", new JsonObject()).getJsonArray("portals");
    assertTrue(portals.encode().contains("127.0.0.1:25181"), portals.encode());
    if (!ignored(1)) {
      again.signal("HUP");
      again.awaitLine("reload applied");
    } else {
      post(admin, "reload", new JsonObject()); // the same reload of the file, asked for over the API
    }
    assertEquals(List.of(0, 1), luns(admin));
    JsonObject saved = post(admin, "config.save", new JsonObject());
    assertEquals(file.toString(), saved.getString("saved"));
    again.signal("TERM");
    assertEquals(0, again.exit(), again.output());
  }

  @Test
  void refusedAtStartWithItsMessage(@TempDir Path dir) throws Exception {
    Path file = config(dir, 25182, new JsonObject().put("targets", new JsonArray().add(new JsonObject()
        .put("name", TARGET).put("acl", "any").put("luns", new JsonArray().add(new JsonObject().put("lun", 0)
            .put("path", "/etc/passwd").put("size", "4K"))))));
    Child passwd = start(dir, "--config", file.toString());
    assertEquals(2, passwd.exit());
    assertTrue(passwd.output().contains("targets[0].luns[0].path: /etc/passwd is outside the allowed directories"),
        passwd.output());

    file = config(dir, 25183, new JsonObject().put("portals", new JsonArray()
        .add(new JsonObject().put("address", "127.0.0.1:25183"))));
    Child collision = start(dir, "--config", file.toString());
    assertEquals(2, collision.exit());
    assertTrue(collision.output().contains("portals[0].address: 127.0.0.1:25183 collides with admin.address"),
        collision.output());

    file = config(dir, 25184, new JsonObject());
    Files.setPosixFilePermissions(dir.resolve("admin.token"), PosixFilePermissions.fromString("rw-r--r--"));
    Child open = start(dir, "--config", file.toString());
    assertEquals(2, open.exit());
    assertTrue(open.output().contains("is readable or writable by group or others"), open.output());

    Child noToken = start(dir, "--portal", "127.0.0.1:0", "--admin", "127.0.0.1:25185");
    assertEquals(2, noToken.exit());
    assertTrue(noToken.output().contains("admin.token: required"), noToken.output());
  }
}
