package io.spindle.server.cluster;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Spindle nodes as separate JVMs ({@code java -jar target/spindle.jar --config ...}), their
 * configs, and a TCP relay that stands for a floating portal address moved to a surviving node.
 */
final class ClusterNodes {

  static final String TARGET = "iqn.2026-11.io.spindle.test:cluster";

  private ClusterNodes() {
  }

  /** One child JVM and its log. */
  static final class Node implements AutoCloseable {
    final String name;
    final int portal;
    final Path log;
    final Process process;

    Node(String name, int portal, Path log, Process process) {
      this.name = name;
      this.portal = portal;
      this.log = log;
      this.process = process;
    }

    String log() {
      try {
        return Files.readString(log);
      } catch (IOException e) {
        return "(no log: " + e + ")";
      }
    }

    /** Waits until the node prints its banner (it serves), failing with its log if it dies first. */
    Node awaitServing(long seconds) throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
      while (!log().contains("Spindle serving")) {
        assertTrue(process.isAlive(), name + " exited with " + (process.isAlive() ? "" : process.exitValue()) + ":\n"
            + log());
        assertTrue(System.nanoTime() - deadline < 0, name + " did not start within " + seconds + " s:\n" + log());
        Thread.sleep(100);
      }
      return this;
    }

    /** Stops the JVM and keeps its log under target/cluster-it-logs/ (the failover timeline). */
    @Override
    public void close() throws InterruptedException {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
      try {
        Path kept = Path.of("target", "cluster-it-logs");
        Files.createDirectories(kept);
        Files.copy(log, kept.resolve(name + ".log"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      } catch (IOException e) {
        // the log stays in the test's directory only
      }
    }
  }

  /** A node's config: one TCP portal, the shared LUN file, ERL 2 limits, and (if {@code members}) a cluster section. */
  static JsonObject config(String node, int portal, int member, List<Integer> members, Path lun, Integer admin) {
    JsonObject c = new JsonObject()
        .put("portals", new JsonArray().add(new JsonObject().put("address", "127.0.0.1:" + portal)))
        .put("targets", new JsonArray().add(new JsonObject().put("name", TARGET).put("acl", "any")
            .put("luns", new JsonArray().add(new JsonObject().put("lun", 0).put("backing", "file")
                .put("path", lun.toString()).put("size", "64M")))))
        .put("negotiation", io.spindle.server.ItSupport.recoveryNegotiation());
    // File LUNs only under allowed directories (README "Backing files"): the test's directory.
    c.put("storage", new JsonObject().put("allowedDirectories", new JsonArray().add(lun.getParent().toString())));
    if (admin != null) {
      c.put("admin", new JsonObject().put("address", "127.0.0.1:" + admin)
          .put("token", new JsonObject().put("file", adminToken(lun.getParent()).toString())));
    }
    if (members != null) {
      JsonArray ms = new JsonArray();
      members.forEach(p -> ms.add("127.0.0.1:" + p));
      c.put("cluster", new JsonObject().put("name", "cc-" + ProcessHandle.current().pid()).put("node", node)
          .put("address", "127.0.0.1:" + member).put("members", ms));
    }
    return c;
  }

  /** The admin API's bearer token in every node's config. */
  static final String ADMIN_TOKEN = "cluster-it-admin-token-0123456789";

  /** Writes {@link #ADMIN_TOKEN} to DIR/admin.token, readable by its owner only (the server refuses others). */
  static Path adminToken(Path dir) {
    Path f = dir.resolve("admin.token");
    try {
      Files.writeString(f, ADMIN_TOKEN + "\n");
      Files.setPosixFilePermissions(f, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return f;
  }

  /** Starts {@code java -jar target/spindle.jar --config DIR/NAME.json} with its output in DIR/NAME.log. */
  static Node start(Path dir, String name, int portal, JsonObject config, String... jvmArgs) throws IOException {
    Path file = dir.resolve(name + ".json");
    Files.writeString(file, config.encodePrettily());
    Path jar = Path.of("target", "spindle.jar").toAbsolutePath();
    assertTrue(Files.exists(jar), jar + " is built by the package phase, before the ITs run");
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx256m");
    cmd.addAll(List.of(jvmArgs));
    cmd.addAll(List.of("-jar", jar.toString(), "--config", file.toString()));
    Path log = dir.resolve(name + ".log");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    return new Node(name, portal, log, p);
  }

  /** True once something accepts TCP connections on 127.0.0.1:{@code port}. */
  static boolean listening(int port) {
    try (Socket s = new Socket("127.0.0.1", port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * A floating portal: accepts on one port and relays each connection to the current backend
   * port; when either side closes, so does the other (a dead node's connections reset).
   */
  static final class Relay implements AutoCloseable {
    private final Vertx vertx;
    private final NetServer server;
    private final AtomicInteger backend;
    private volatile boolean silent;

    Relay(Vertx vertx, int port, int backendPort) throws Exception {
      this.vertx = vertx;
      this.backend = new AtomicInteger(backendPort);
      this.server = vertx.createNetServer().connectHandler(this::relay);
      server.listen(port, "127.0.0.1").await(10, TimeUnit.SECONDS);
    }

    private void relay(NetSocket in) {
      in.pause();
      vertx.createNetClient().connect(backend.get(), "127.0.0.1").onComplete(ar -> {
        if (ar.failed()) {
          in.close();
          return;
        }
        NetSocket out = ar.result();
        // Either side closing or failing closes the other: a dead node's connections reset.
        in.pipeTo(out).onComplete(x -> out.close());
        out.handler(b -> {
          if (!silent) in.write(b);
        });
        out.closeHandler(v -> in.close());
        out.exceptionHandler(e -> in.close());
        in.closeHandler(v -> out.close());
      });
    }

    /** While silent, what the nodes send is dropped (a network that lost the target's answers). */
    void silent(boolean on) {
      silent = on;
    }

    /** New connections go to {@code port} from now on. */
    void moveTo(int port) {
      backend.set(port);
    }

    @Override
    public void close() throws Exception {
      server.close().await(10, TimeUnit.SECONDS);
    }
  }

  static <T> T poll(java.util.function.Supplier<T> probe, java.util.function.Predicate<T> done, long seconds,
      String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    T last = probe.get();
    while (!done.test(last)) {
      assertTrue(System.nanoTime() - deadline < 0, what + " within " + seconds + " s; last seen: " + last);
      Thread.sleep(200);
      last = probe.get();
    }
    return last;
  }
}
