package io.spindle.server.realpeers;

import static io.spindle.server.realpeers.RealPeers.IQN;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.spindle.initiator.Await;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.IscsiInitiator;
import io.spindle.initiator.ScsiResponse;
import io.spindle.initiator.Session;
import io.spindle.server.realpeers.RealPeers.Running;
import io.spindle.server.realpeers.RealPeers.ToolRun;
import io.spindle.store.rbd.DevCluster;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An RBD LUN with real peers and real failures, on the one-node Ceph of
 * {@code ops/ceph/dev-cluster.sh} (skipped when it cannot start): qemu-img writes and reads an
 * image through it; a Spindle process killed with SIGKILL loses no write it acknowledged; two
 * Spindle processes serving the same image see each other's writes and reservations.
 */
class RbdIT {

  private static final int BLOCK = 512;
  /** Ports in this helper's range for the Spindle processes started here. */
  private static final int PORT_A = 22561;
  private static final int PORT_B = 22562;

  @TempDir
  Path dir;

  private final String image = "rbdit-" + Long.toHexString(System.nanoTime());
  private final List<Process> processes = new ArrayList<>();

  @BeforeAll
  static void ceph() {
    DevCluster.assumeRunning();
  }

  @AfterEach
  void cleanUp() throws Exception {
    for (Process p : processes) {
      p.destroyForcibly();
      p.waitFor(30, TimeUnit.SECONDS);
    }
    try {
      DevCluster.rbd("rm", "--no-progress", "rbd/" + image);
    } catch (IOException e) {
      // not created
    }
  }

  private JsonObject lun() {
    return RbdConformanceIT.rbdLun(0, image, "64M");
  }

  /** A Spindle process (the shaded jar the build just packaged) serving the image on {@code port}. */
  private Process spindle(int port, String name) throws Exception {
    Path jar = Path.of(System.getProperty("basedir", System.getProperty("user.dir")), "target", "spindle.jar");
    Assumptions.assumeTrue(Files.isRegularFile(jar), "no " + jar + " (run through mvn verify, after package)");
    JsonObject config = new JsonObject()
        .put("portals", new JsonArray().add(new JsonObject().put("address", "127.0.0.1:" + port)))
        .put("targets", new JsonArray().add(new JsonObject().put("name", IQN).put("acl", "any")
            .put("luns", new JsonArray().add(lun()))));
    Path cfg = dir.resolve(name + ".json");
    Files.writeString(cfg, config.encodePrettily());
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(java, "-jar", jar.toString(), "--config", cfg.toString())
        .redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile()).start();
    processes.add(p);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
        return p;
      } catch (IOException e) {
        if (!p.isAlive() || System.nanoTime() > deadline) {
          throw new AssertionError(name + " did not start:\n" + Files.readString(dir.resolve(name + ".log")));
        }
        Thread.sleep(200);
      }
    }
  }

  @Test
  void qemuImgRoundTripThroughAnRbdLun() throws Exception {
    RealPeers.assumeTool("qemu-img", "qemu-utils");
    Path source = dir.resolve("source.img");
    byte[] data = new byte[64 << 20];
    new Random(5).nextBytes(data);
    Files.write(source, data);
    try (Running server = Running.start(RealPeers.config(lun()))) {
      String url = server.lunUrl(IQN, 0);
      RealPeers.run(dir, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", source.toString(), url)
          .assertSucceeded();
    }
    // A fresh server (a new librbd client) reads what the first one wrote.
    try (Running server = Running.start(RealPeers.config(lun()))) {
      ToolRun r = RealPeers.run(dir, "qemu-img", "compare", "-s", "-f", "raw", "-F", "raw", source.toString(),
          server.lunUrl(IQN, 0));
      assertEquals(0, r.exitCode(), r::describe);
      assertTrue(r.output().contains("Images are identical."), r::describe);
    }
  }

  /** WRITE(10) with FUA: GOOD means durable (SBC-4 5.43), whatever the cache mode. */
  private static byte[] write10Fua(long lba, int blocks) {
    byte[] c = new byte[10];
    c[0] = 0x2A;
    c[1] = 0x08;
    c[2] = (byte) (lba >>> 24);
    c[3] = (byte) (lba >>> 16);
    c[4] = (byte) (lba >>> 8);
    c[5] = (byte) lba;
    c[8] = (byte) blocks;
    return c;
  }

  private static byte[] block(long lba, int round) {
    byte[] b = new byte[4096];
    new Random(lba * 31 + round).nextBytes(b);
    return b;
  }

  private static byte[] read(Session s, long lba, int blocks) {
    try (ScsiResponse r = Await.result(s.read(0, lba, blocks, BLOCK))) {
      assertTrue(r.isGood(), "read: " + r);
      byte[] got = new byte[r.data().readableBytes()];
      r.data().getBytes(r.data().readerIndex(), got);
      return got;
    }
  }

  /** Logs in and takes the unit attentions a new nexus may meet first. */
  private static Session login(IscsiInitiator ini, int port) {
    Session s = Await.result(ini.login("127.0.0.1", port, IQN));
    for (int i = 0; i < 3; i++) {
      try (ScsiResponse r = Await.result(s.testUnitReady(0))) {
        if (r.isGood()) return s;
      }
    }
    throw new AssertionError("LUN 0 never became ready");
  }

  @Test
  void killNineLosesNoAcknowledgedWrite() throws Exception {
    Process a = spindle(PORT_A, "a");
    Vertx vertx = Vertx.vertx();
    IscsiInitiator ini = IscsiInitiator.create(vertx, new InitiatorOptions());
    ConcurrentHashMap<Long, Boolean> acked = new ConcurrentHashMap<>();
    try {
      Session s = login(ini, PORT_A);
      // 8 writers, 4 KiB FUA writes over distinct LBAs; SIGKILL once 200 are acknowledged.
      int queue = 8;
      List<Future<Void>> writers = new ArrayList<>();
      for (int w = 0; w < queue; w++) {
        int first = w;
        writers.add(vertx.executeBlocking(() -> {
          for (long n = first; n < 100_000; n += queue) {
            long lba = n * 8;
            try (ScsiResponse r = Await.result(s.command(0, write10Fua(lba, 8),
                Unpooled.wrappedBuffer(block(lba, 1)), 0), Duration.ofSeconds(20))) {
              if (!r.isGood()) return null;
              acked.put(lba, true);
            } catch (RuntimeException e) {
              return null; // the connection went with the process
            }
          }
          return null;
        }, false));
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (acked.size() < 200 && System.nanoTime() < deadline) Thread.sleep(20);
      a.destroyForcibly(); // SIGKILL: no flush, no close
      assertTrue(a.waitFor(30, TimeUnit.SECONDS));
      Future.join(writers).toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
    } finally {
      Await.result(ini.close());
    }
    assertTrue(acked.size() >= 200, "only " + acked.size() + " writes acknowledged before the kill");
    // A new process on the same image: every acknowledged block is there.
    spindle(PORT_B, "b");
    IscsiInitiator ini2 = IscsiInitiator.create(vertx, new InitiatorOptions());
    try {
      Session s = login(ini2, PORT_B);
      for (long lba : acked.keySet()) assertArrayEquals(block(lba, 1), read(s, lba, 8), "LBA " + lba + " acknowledged, lost");
      System.out.println("RBD kill -9: " + acked.size() + " FUA writes acknowledged before SIGKILL, all read back");
    } finally {
      Await.result(ini2.close());
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /** PERSISTENT RESERVE OUT REGISTER with APTPL (so the state is kept in the image). */
  private static ScsiResponse register(Session s, long key) {
    byte[] c = new byte[10];
    c[0] = 0x5F;
    c[1] = 0x00; // REGISTER
    c[8] = 24;
    byte[] p = new byte[24];
    for (int i = 0; i < 8; i++) p[8 + i] = (byte) (key >>> (56 - 8 * i));
    p[20] = 0x01; // APTPL
    return Await.result(s.command(0, c, Unpooled.wrappedBuffer(p), 0));
  }

  /** PERSISTENT RESERVE IN READ KEYS: the registered keys. */
  private static List<Long> readKeys(Session s) {
    byte[] c = new byte[10];
    c[0] = 0x5E;
    c[8] = (byte) 255;
    try (ScsiResponse r = Await.result(s.command(0, c, null, 255))) {
      assertTrue(r.isGood(), "PR IN: " + r);
      int n = r.data().getInt(r.data().readerIndex() + 4) / 8;
      List<Long> keys = new ArrayList<>();
      for (int i = 0; i < n; i++) keys.add(r.data().getLong(r.data().readerIndex() + 8 + 8 * i));
      return keys;
    }
  }

  @Test
  void twoProcessesOnOneImageSeeEachOthersWritesAndReservations() throws Exception {
    spindle(PORT_A, "a");
    spindle(PORT_B, "b");
    Vertx vertx = Vertx.vertx();
    IscsiInitiator ini = IscsiInitiator.create(vertx, new InitiatorOptions());
    try {
      Session a = login(ini, PORT_A);
      Session b = login(ini, PORT_B);
      byte[] x = block(100, 7);
      try (ScsiResponse r = Await.result(a.command(0, write10Fua(100, 8), Unpooled.wrappedBuffer(x), 0))) {
        assertTrue(r.isGood(), "write through A: " + r);
      }
      assertArrayEquals(x, read(b, 100, 8), "B reads what A wrote");
      byte[] y = block(100, 8);
      try (ScsiResponse r = Await.result(b.command(0, write10Fua(100, 8), Unpooled.wrappedBuffer(y), 0))) {
        assertTrue(r.isGood(), "write through B: " + r);
      }
      assertArrayEquals(y, read(a, 100, 8), "A reads what B wrote");

      try (ScsiResponse r = register(a, 0xA1A1L)) {
        assertTrue(r.isGood(), "REGISTER through A: " + r);
      }
      assertEquals(List.of(0xA1A1L), readKeys(b), "B sees A's registration");
      try (ScsiResponse r = register(b, 0xB2B2L)) {
        assertTrue(r.isGood(), "REGISTER through B: " + r);
      }
      List<Long> keys = readKeys(a);
      assertTrue(keys.contains(0xA1A1L) && keys.contains(0xB2B2L) && keys.size() == 2, "A sees both keys: " + keys);
    } finally {
      Await.result(ini.close());
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void aLunOnAnUnreachableClusterStaysOfflineWhileTheOthersServe() throws Exception {
    Path conf = dir.resolve("down.conf");
    // Monitors in this helper's port range where nothing listens.
    Files.writeString(conf, "[global]\nmon host = v2:127.0.0.1:22790\n");
    JsonObject down = RbdConformanceIT.rbdLun(1, image, "64M").put("cephConf", conf.toString());
    long t0 = System.nanoTime();
    try (Running server = Running.start(RealPeers.config(RealPeers.memoryLun(0, "16M"), down))) {
      long s = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
      assertTrue(s < 60, "start-up took " + s + " s");
      Vertx vertx = Vertx.vertx();
      IscsiInitiator ini = IscsiInitiator.create(vertx, new InitiatorOptions());
      try {
        Session session = login(ini, server.port());
        try (ScsiResponse r = Await.result(session.testUnitReady(1))) {
          // SPC-4: LOGICAL UNIT NOT SUPPORTED for a LUN the target does not serve.
          assertEquals(0x05, r.senseKey(), "LUN 1: " + r);
          assertEquals(0x25, r.asc(), "LUN 1: " + r);
        }
        byte[] x = block(3, 3);
        try (ScsiResponse r = Await.result(session.command(0, write10Fua(3, 8), Unpooled.wrappedBuffer(x), 0))) {
          assertTrue(r.isGood(), "LUN 0 serves: " + r);
        }
        assertArrayEquals(x, read(session, 3, 8));
      } finally {
        Await.result(ini.close());
        vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
    }
  }
}
