package io.spindle.server.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
import io.spindle.server.SpindleServer;
import io.spindle.server.config.ConfigWatcher;
import io.spindle.server.config.ServerConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Live reconfiguration by editing the watched config file, with a real server, real sockets and
 * the project's initiator doing I/O throughout.
 */
class ReloadIT {

  static final String TARGET = "iqn.2026-11.io.spindle:reload";
  static final String OTHER = "iqn.2026-11.io.spindle:added";
  static final int BLOCK = 512;

  @TempDir
  Path dir;
  Path file;
  Vertx vertx;
  SpindleServer server;
  ConfigWatcher watcher;
  IscsiInitiator initiator;
  /** Completes with each applied (or rejected) reload of the watched file, in order. */
  final java.util.concurrent.LinkedBlockingQueue<Future<JsonObject>> reloads =
      new java.util.concurrent.LinkedBlockingQueue<>();

  JsonObject config(String... portalHosts) {
    JsonArray portals = new JsonArray();
    for (String h : portalHosts) portals.add(new JsonObject().put("address", h + ":0"));
    return new JsonObject().put("portals", portals)
        .put("targets", new JsonArray().add(new JsonObject().put("name", TARGET).put("acl", "any").put("luns", new JsonArray()
            .add(new JsonObject().put("lun", 0).put("backing", "memory").put("size", "16M")))))
        .put("reload", new JsonObject().put("scanIntervalMillis", 50).put("gracePeriodMillis", 200));
  }

  void write(JsonObject config) throws IOException {
    // Replace atomically, as editors do, so the watcher never reads half a file.
    Path tmp = dir.resolve("spindle.json.tmp");
    Files.writeString(tmp, config.encodePrettily());
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    file = dir.resolve("spindle.json");
    write(config("127.0.0.1", "127.0.0.2"));
    ServerConfig c = ServerConfig.load(file);
    server = SpindleServer.start(vertx, c).await(30, TimeUnit.SECONDS);
    watcher = new ConfigWatcher(vertx, file, x -> x, next -> {
      Future<JsonObject> f = server.reconfigure(next);
      reloads.add(f);
      return f;
    });
    watcher.start(c.operations().scanIntervalMillis()).await(10, TimeUnit.SECONDS);
    initiator = IscsiInitiator.create(vertx, new InitiatorOptions());
  }

  @AfterEach
  void stop() throws Exception {
    if (watcher != null) watcher.stop();
    if (initiator != null) Await.result(initiator.close());
    if (server != null) server.stop().await(30, TimeUnit.SECONDS);
    if (vertx != null) vertx.close().await(10, TimeUnit.SECONDS);
  }

  int port(String host) {
    return server.boundPortals().get(host + ":0").port();
  }

  /** Logs in; LUN 0 answers TEST UNIT READY (a unit attention an earlier test raised is consumed). */
  Session login(String host, long isid) {
    Session s = Await.result(initiator.login(host, port(host), TARGET, isid));
    try (ScsiResponse r = Await.result(s.testUnitReady(0))) {
      assertTrue(r.isGood() || r.senseKey() == 0x06, r.toString());
    }
    return s;
  }

  static void writeAndVerify(Session s, long lba, byte[] bytes) {
    try (ScsiResponse w = Await.result(s.write(0, lba, Unpooled.wrappedBuffer(bytes.clone()), BLOCK))) {
      assertTrue(w.isGood(), "write: " + w);
    }
    try (ScsiResponse r = Await.result(s.read(0, lba, bytes.length / BLOCK, BLOCK))) {
      assertTrue(r.isGood(), "read: " + r);
      byte[] got = new byte[r.data().readableBytes()];
      r.data().getBytes(r.data().readerIndex(), got);
      assertArrayEquals(bytes, got);
    }
  }

  @Test
  void portalAddedAndRemovedByEditingTheFileWhileIoRuns() throws Exception {
    Session untouched = login("127.0.0.1", 0x400001);
    Session onRemoved = login("127.0.0.2", 0x400002);
    int removedPort = port("127.0.0.2");

    // I/O on the untouched session throughout the reload: every command must succeed.
    AtomicBoolean stopIo = new AtomicBoolean();
    AtomicInteger done = new AtomicInteger();
    CountDownLatch warmedUp = new CountDownLatch(20);
    CompletableFuture<Void> io = CompletableFuture.runAsync(() -> {
      Random rnd = new Random(7);
      for (int i = 0; !stopIo.get() || i < 40; i++) {
        byte[] b = new byte[8 * BLOCK];
        rnd.nextBytes(b);
        writeAndVerify(untouched, (i % 1000) * 8L, b);
        done.incrementAndGet();
        warmedUp.countDown();
        if (i > 100_000) throw new AssertionError("I/O loop did not stop");
      }
    });
    assertTrue(warmedUp.await(60, TimeUnit.SECONDS), "I/O did not start");

    write(config("127.0.0.1", "127.0.0.3"));
    JsonObject changes = reloads.poll(30, TimeUnit.SECONDS).toCompletionStage().toCompletableFuture()
        .get(30, TimeUnit.SECONDS);
    assertEquals(1, changes.getJsonArray("portalsAdded").size(), changes.encode());
    assertEquals(new JsonArray().add("127.0.0.2:0"), changes.getJsonArray("portalsRemoved"));

    // The new portal accepts logins and I/O.
    Session onAdded = login("127.0.0.3", 0x400003);
    writeAndVerify(onAdded, 5000, new byte[4 * BLOCK]);
    Await.result(onAdded.logout());

    // The removed portal no longer accepts, and its session is closed after the grace period.
    assertThrows(RuntimeException.class, () -> Await.result(initiator.login("127.0.0.2", removedPort, TARGET, 5L)));
    Await.result(onRemoved.connection().closeFuture(), java.time.Duration.ofSeconds(30));
    // The server ends the session once its side of the connection has closed, which the
    // initiator may see a moment earlier: wait for it, boundedly.
    long until = System.nanoTime() + 10_000_000_000L;
    while (server.iscsi().sessions().stream().anyMatch(s -> s.tsih() == onRemoved.tsih())
        && System.nanoTime() < until) {
      Thread.sleep(20);
    }
    assertFalse(server.iscsi().sessions().stream().anyMatch(s -> s.tsih() == onRemoved.tsih()));

    stopIo.set(true);
    io.get(120, TimeUnit.SECONDS);
    assertTrue(done.get() >= 40, "commands completed: " + done.get());
    assertTrue(server.iscsi().sessions().stream().anyMatch(s -> s.tsih() == untouched.tsih()),
        "the untouched session is still logged in");
    Await.result(untouched.logout());
  }

  @Test
  void targetAddedAndRemovedByEditingTheFile() throws Exception {
    Session s = login("127.0.0.1", 0x400011);
    JsonObject next = config("127.0.0.1", "127.0.0.2");
    next.getJsonArray("targets").add(new JsonObject().put("name", OTHER).put("acl", "any").put("luns", new JsonArray()
        .add(new JsonObject().put("lun", 0).put("backing", "file").put("path", dir.resolve("added.img").toString())
            .put("size", "8M"))));
    write(next);
    JsonObject changes = Await.result(reloads.poll(30, TimeUnit.SECONDS));
    assertEquals(new JsonArray().add(OTHER), changes.getJsonArray("targetsAdded"));
    Session added = Await.result(initiator.login("127.0.0.1", port("127.0.0.1"), OTHER, 0x400012L));
    Await.result(added.testUnitReady(0)).close();
    Await.result(added.logout());

    // Removing it again: the file-backed LUN is closed once its sessions have ended.
    write(config("127.0.0.1", "127.0.0.2"));
    changes = Await.result(reloads.poll(30, TimeUnit.SECONDS));
    assertEquals(new JsonArray().add(OTHER), changes.getJsonArray("targetsRemoved"));
    assertThrows(RuntimeException.class,
        () -> Await.result(initiator.login("127.0.0.1", port("127.0.0.1"), OTHER, 0x400013L)));
    Path file = dir.resolve("added.img").toRealPath();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (openDescriptors(file) > 0 && System.nanoTime() < deadline) Thread.sleep(50);
    assertEquals(0, openDescriptors(file), "the retired LUN's file is closed after the grace period");
    writeAndVerify(s, 10, new byte[2 * BLOCK]);
    Await.result(s.logout());
  }

  /** How many of this process's descriptors (/proc/self/fd) refer to {@code file}; 0 off Linux. */
  static long openDescriptors(Path file) throws java.io.IOException {
    Path fds = Path.of("/proc/self/fd");
    if (!java.nio.file.Files.isDirectory(fds)) return 0;
    try (var list = java.nio.file.Files.list(fds)) {
      return list.filter(fd -> {
        try {
          return java.nio.file.Files.readSymbolicLink(fd).equals(file);
        } catch (java.io.IOException | UnsupportedOperationException e) {
          return false; // closed meanwhile
        }
      }).count();
    }
  }

  @Test
  void invalidFileIsRejectedAndTheRunningConfigurationStays() throws Exception {
    Session s = login("127.0.0.1", 0x400021);
    ServerConfig before = server.config();
    JsonObject bad = config("127.0.0.1", "127.0.0.2");
    bad.getJsonArray("targets").getJsonObject(0).getJsonArray("luns").getJsonObject(0).put("size", "-1");
    Files.writeString(file, bad.encode());
    Exception e = assertThrows(Exception.class, () -> Await.result(watcher.reload("test")));
    assertTrue(e.getMessage().contains("targets[0].luns[0].size"), e.getMessage());

    Files.writeString(file, "{ \"portals\": [ ");
    e = assertThrows(Exception.class, () -> Await.result(watcher.reload("test")));
    assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());

    // Valid JSON, but a new portal that cannot bind (the port of a running one on another host
    // is free, so take the running portal's own port on its own host): rejected as a whole.
    JsonObject clash = config("127.0.0.1", "127.0.0.2");
    clash.getJsonArray("portals").add(new JsonObject().put("address", "127.0.0.1:" + port("127.0.0.1")));
    clash.getJsonArray("targets").add(new JsonObject().put("name", OTHER).put("acl", "any").put("luns", new JsonArray()
        .add(new JsonObject().put("backing", "memory").put("size", "1M"))));
    Files.writeString(file, clash.encode());
    e = assertThrows(Exception.class, () -> Await.result(watcher.reload("test")));
    assertTrue(e.getMessage().contains("127.0.0.1:" + port("127.0.0.1")), e.getMessage());

    assertEquals(before, server.config());
    assertEquals(1, server.iscsi().currentTargets().size());
    assertNotNull(server.iscsi().currentTargets().get(TARGET));
    writeAndVerify(s, 0, new byte[BLOCK]);
    Await.result(s.logout());
  }

  @Test
  void unchangedFileChangesNothing() throws Exception {
    JsonObject changes = Await.result(watcher.reload("test"));
    for (String k : changes.fieldNames()) assertTrue(changes.getJsonArray(k).isEmpty(), changes.encode());
  }

}
