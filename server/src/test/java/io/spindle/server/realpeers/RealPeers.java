package io.spindle.server.realpeers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.spindle.iscsi.datamover.PortalAddress;
import io.spindle.server.SpindleServer;
import io.spindle.server.config.PortalConfig;
import io.spindle.server.config.ServerConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Assumptions;

/**
 * Shared plumbing for the tests that drive an in-process Spindle server with real, independent
 * initiators (libiscsi's tools, qemu-img): start and stop a server on 127.0.0.1 port 0, run an
 * external program with a bound, and keep its output for the assertion message.
 */
final class RealPeers {

  static final String IQN = "iqn.2026-11.io.spindle:realpeers";
  static final Duration START_TIMEOUT = Duration.ofSeconds(30);
  static final Duration TOOL_TIMEOUT = Duration.ofSeconds(60);

  private RealPeers() {
  }

  /** Skips the calling test (not fails it) when {@code tool} is not on the PATH. */
  static void assumeTool(String tool, String debianPackage) {
    Assumptions.assumeTrue(onPath(tool), tool + " is not on the PATH: install " + debianPackage);
  }

  static boolean onPath(String tool) {
    String path = System.getenv("PATH");
    if (path == null) return false;
    for (String dir : path.split(File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) return true;
    }
    return false;
  }

  /** One LUN in a config's {@code luns} list. */
  static JsonObject fileLun(int lun, Path path, String size) {
    return new JsonObject().put("lun", lun).put("backing", "file").put("path", path.toString()).put("size", size);
  }

  static JsonObject memoryLun(int lun, String size) {
    return new JsonObject().put("lun", lun).put("backing", "memory").put("size", size);
  }

  /** A config with one portal on 127.0.0.1 (port 0 until {@link Running#start} picks one), serving {@link #IQN}. */
  static ServerConfig config(JsonObject... luns) {
    return ServerConfig.fromJson(new JsonObject()
        .put("portals", new JsonArray().add(new JsonObject().put("address", "127.0.0.1:0")))
        .put("targets", new JsonArray().add(new JsonObject().put("name", IQN).put("acl", "any").put("luns", new JsonArray(List.of(
            (Object[]) luns))))));
  }

  /** A port nobody listened on a moment ago (another process may still take it: see the retry in start). */
  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** A running server and the Vert.x instance it owns; {@link #close} stops both. */
  static final class Running implements AutoCloseable {
    final Vertx vertx;
    final SpindleServer server;

    private Running(Vertx vertx, SpindleServer server) {
      this.vertx = vertx;
      this.server = server;
    }

    /**
     * Starts the server on a free port of 127.0.0.1. Not port 0: with the TCP transport's default
     * of several verticle instances per portal, a port-0 portal fails with "Address already in
     * use" (the first instance binds port 0, the others then bind the resolved port themselves
     * instead of sharing the first one's socket). Until that is fixed, pick the port here and
     * retry a few times in case another process takes it in between.
     */
    static Running start(ServerConfig config) throws Exception {
      for (int attempt = 1; ; attempt++) {
        ServerConfig onPort = config.withPortals(config.portals().stream().map(p -> p.address().port() != 0 ? p
            : new PortalConfig(new PortalAddress(p.address().host(), uncheckedFreePort()), p.transport(),
                p.portalGroupTag(), p.options())).toList());
        Vertx vertx = Vertx.vertx();
        try {
          return new Running(vertx, SpindleServer.start(vertx, onPort)
              .await(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
        } catch (Exception e) {
          vertx.close().await(10, TimeUnit.SECONDS);
          if (attempt >= 3 || !String.valueOf(e.getMessage()).contains("no portal could start")) throw e;
        }
      }
    }

    private static int uncheckedFreePort() {
      try {
        return freePort();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    int port() {
      return server.ports().get(0);
    }

    /** The portal URL libiscsi's discovery tools take. */
    String portalUrl() {
      return "iscsi://127.0.0.1:" + port();
    }

    /** The LUN URL libiscsi and qemu's iscsi driver take. */
    String lunUrl(String iqn, int lun) {
      return portalUrl() + "/" + iqn + "/" + lun;
    }

    @Override
    public void close() throws TimeoutException {
      try {
        server.stop().await(30, TimeUnit.SECONDS);
      } finally {
        vertx.close().await(10, TimeUnit.SECONDS);
      }
    }
  }

  /** What an external program did: its exit code and its interleaved stdout and stderr. */
  record ToolRun(List<String> command, int exitCode, String output) {

    /** For assertion messages: the command, its exit code and everything it printed. */
    String describe() {
      return String.join(" ", command) + "\nexit code " + exitCode + ", output:\n" + output;
    }

    ToolRun assertSucceeded() {
      assertEquals(0, exitCode, () -> "expected success from " + describe());
      return this;
    }
  }

  /**
   * Runs {@code command} with stdout and stderr merged into one file (no pipe to fill up), waits
   * at most {@code timeout}, and kills the process tree if it runs over: the test then fails
   * with what the program printed so far.
   */
  static ToolRun run(Path workDir, Duration timeout, String... command) throws IOException, InterruptedException {
    List<String> cmd = List.of(command);
    Path log = Files.createTempFile(workDir, "tool-", ".log");
    Process p = new ProcessBuilder(cmd).directory(workDir.toFile()).redirectErrorStream(true)
        .redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
    if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      List<ProcessHandle> children = new ArrayList<>();
      p.descendants().forEach(children::add);
      children.forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      fail(String.join(" ", cmd) + " did not finish within " + timeout + "; output so far:\n"
          + Files.readString(log, StandardCharsets.ISO_8859_1));
    }
    return new ToolRun(cmd, p.exitValue(), Files.readString(log, StandardCharsets.ISO_8859_1));
  }

  static ToolRun run(Path workDir, String... command) throws IOException, InterruptedException {
    return run(workDir, TOOL_TIMEOUT, command);
  }
}
