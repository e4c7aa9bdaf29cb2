package io.spindle.server.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.spindle.initiator.Await;
import io.spindle.initiator.DiscoveredTarget;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.IscsiInitiator;
import io.spindle.initiator.ScsiResponse;
import io.spindle.initiator.Session;
import io.spindle.server.ItSupport;
import io.spindle.server.cluster.ClusterNodes.Node;
import io.spindle.server.cluster.ClusterNodes.Relay;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.RandomAccessFile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two Spindle nodes in separate JVMs share one LUN file and a Hazelcast cluster. A session logged
 * in on node A (through a relay standing for a floating portal address) has commands in flight when
 * A is killed with SIGKILL; the relay then leads to node B, and the initiator — ERL 2, no session
 * recovery — logs a connection into the same session (same ISID and TSIH) there and reassigns its
 * tasks. Every command completes GOOD and every byte reads back. Ports 20100-20199.
 */
class ClusterFailoverIT {

  private static final int RELAY = 20100;
  private static final int PORTAL_A = 20101;
  private static final int PORTAL_B = 20102;
  private static final int MEMBER_A = 20111;
  private static final int MEMBER_B = 20112;
  private static final int ADMIN_B = 20122;
  private static final int METRICS_A = 20131;
  private static final int BLOCK = 512;
  private static final int CHUNK = 64 << 10;

  @Test
  void aSessionContinuesOnAnotherNodeAfterKill9(@TempDir Path dir) throws Exception {
    Path lun = dir.resolve("lun0.img");
    try (RandomAccessFile f = new RandomAccessFile(lun.toFile(), "rw")) {
      f.setLength(64 << 20);
    }
    List<Integer> members = List.of(MEMBER_A, MEMBER_B);
    Vertx client = Vertx.vertx();
    try (Node a = ClusterNodes.start(dir, "node-a", PORTAL_A,
            ClusterNodes.config("node-a", PORTAL_A, MEMBER_A, members, lun, null)
            .put("metrics", new JsonObject().put("address", "127.0.0.1:" + METRICS_A))).awaitServing(120);
        Node b = ClusterNodes.start(dir, "node-b", PORTAL_B,
            ClusterNodes.config("node-b", PORTAL_B, MEMBER_B, members, lun, ADMIN_B)).awaitServing(120);
        Relay relay = new Relay(client, RELAY, PORTAL_A)) {
      IscsiInitiator ini = IscsiInitiator.create(client, new InitiatorOptions().setErrorRecoveryLevel(2)
          .setSessionRecovery(false).setDefaultTime2Wait(1).setDefaultTime2Retain(20).setLoginTimeoutMillis(30_000)
          .setCommandTimeoutMillis(120_000));
      try {
        // SendTargets on B names both nodes' portals while both live.
        assertEquals(List.of("127.0.0.1:" + PORTAL_B + ",1", "127.0.0.1:" + PORTAL_A + ",1"),
            ClusterNodes.poll(() -> addresses(ini, PORTAL_B), l -> l.size() == 2, 30, "both portals in SendTargets"));

        Session s = ItSupport.loginReady(ini, "127.0.0.1", RELAY, ClusterNodes.TARGET);
        int tsih = s.tsih();
        long isid = s.isid();
        assertEquals(2, s.parameters().errorRecoveryLevel());
        byte[][] before = new byte[64][];
        List<Future<ScsiResponse>> writes = new ArrayList<>();
        for (int i = 0; i < before.length; i++) {
          before[i] = pattern(i);
          writes.add(s.write(0, lba(i), Unpooled.wrappedBuffer(before[i].clone()), BLOCK));
        }
        for (Future<ScsiResponse> w : writes) assertGood(Await.result(w), "write before the kill");

        // The replication's own cost: 4 KiB writes at QD 32, against A's replication counters.
        long[] c0 = replication(METRICS_A);
        int commands = 4096;
        List<Future<ScsiResponse>> window = new ArrayList<>();
        for (int i = 0; i < commands; i++) {
          window.add(s.write(0, lba(200) + (i % 1024) * 8, Unpooled.wrappedBuffer(new byte[4096]), BLOCK));
          if (window.size() == 32) {
            for (Future<ScsiResponse> w : window) assertGood(Await.result(w), "QD 32 write");
            window.clear();
          }
        }
        long[] c1 = replication(METRICS_A);
        double writesPer = (double) (c1[0] - c0[0]) / commands;
        double bytesPer = (double) (c1[1] - c0[1]) / commands;
        System.out.printf("replication: %d commands, %d store writes (%.3f per command), %d bytes (%.1f per command)%n",
            commands, c1[0] - c0[0], writesPer, c1[1] - c0[1], bytesPer);
        assertTrue(c1[0] > c0[0], "the session's window was replicated");
        assertTrue(writesPer < 0.5, "replication is batched, not one write per command: " + writesPer);

        // A burst of writes (new data) and reads (of the data above) that A runs but whose answers
        // are lost on the way back; once A replicated them, SIGKILL. B has their records: it sends a
        // write's stored status and runs a read again.
        relay.silent(true);
        byte[][] after = new byte[64][];
        List<Future<ScsiResponse>> burst = new ArrayList<>();
        List<Future<ScsiResponse>> reads = new ArrayList<>();
        AtomicLong firstDone = new AtomicLong();
        for (int i = 0; i < after.length; i++) {
          after[i] = pattern(1000 + i);
          burst.add(s.write(0, lba(64 + i), Unpooled.wrappedBuffer(after[i].clone()), BLOCK));
          reads.add(s.read(0, lba(i), CHUNK / BLOCK, BLOCK));
        }
        Thread.sleep(1500);
        long killed = System.nanoTime();
        java.time.Instant killedAt = java.time.Instant.now();
        a.process.destroyForcibly();
        relay.moveTo(PORTAL_B);
        relay.silent(false);
        a.process.waitFor();
        int completedBeforeKill = 0;
        for (Future<ScsiResponse> f : burst) if (f.isComplete()) completedBeforeKill++;
        List<Future<ScsiResponse>> all = new ArrayList<>(burst);
        all.addAll(reads);
        all.forEach(f -> f.onComplete(x -> firstDone.compareAndSet(0, System.nanoTime())));
        for (Future<ScsiResponse> w : burst) assertGood(Await.result(w, Duration.ofSeconds(120)), "write across the kill");
        for (int i = 0; i < reads.size(); i++) {
          try (ScsiResponse r = Await.result(reads.get(i), Duration.ofSeconds(120))) {
            assertTrue(r.isGood(), "read across the kill: " + r);
            assertArrayEquals(before[i], bytes(r), "read " + i + " across the kill returned other data");
          }
        }
        long recovered = System.nanoTime();
        assertEquals(tsih, s.tsih(), "the session kept its TSIH: it continued, it was not logged in anew");
        assertEquals(isid, s.isid());
        assertTrue(s.recoveries() >= 1, "the initiator recovered the connection: " + s.recoveries());
        // Everything written before and across the kill reads back from B.
        for (int i = 0; i < 64; i++) {
          try (ScsiResponse r = Await.result(s.read(0, lba(i), CHUNK / BLOCK, BLOCK))) {
            assertArrayEquals(before[i], bytes(r), "block run " + i + " after the failover");
          }
          try (ScsiResponse r = Await.result(s.read(0, lba(64 + i), CHUNK / BLOCK, BLOCK))) {
            assertArrayEquals(after[i], bytes(r), "block run " + (64 + i) + " written across the failover");
          }
        }
        String logB = b.log();
        assertTrue(logB.contains("taken over from node-a"), "B took the session over:\n" + logB);
        assertFalse(logB.contains("session reinstatement"), "the session was continued, not reinstated:\n" + logB);
        assertTrue(logB.contains("reassigned from the previous owner: stored status 0 sent without running it again"),
            "a write A completed was answered with its replicated status:\n" + logB);
        assertTrue(logB.contains("reassigned from the previous owner: running it again (Data-In"),
            "a read A had was run again on B:\n" + logB);
        System.out.printf("failover: SIGKILL of node-a at %s; %d of %d writes done before it; first command completed %d ms after it, "
            + "all %d %d ms after it; recoveries=%d%n", killedAt, completedBeforeKill, burst.size(),
            (firstDone.get() - killed) / 1_000_000, all.size(), (recovered - killed) / 1_000_000, s.recoveries());
        for (String line : logB.split("\n")) {
          if (line.contains("io.spindle.cluster") || line.contains("cluster") || line.contains("reassigned")
              || line.contains("login ok")) {
            System.out.println("node-b: " + line);
          }
        }

        // A's portal leaves SendTargets once the cluster removed A; the admin API shows who serves the session.
        assertEquals(List.of("127.0.0.1:" + PORTAL_B + ",1"),
            ClusterNodes.poll(() -> addresses(ini, PORTAL_B), l -> l.size() == 1, 30, "A's portal gone"));
        JsonObject m = ClusterNodes.poll(() -> admin(ADMIN_B, "cluster.members"),
            j -> j.getJsonArray("members").size() == 1 && j.getJsonArray("members").getJsonObject(0)
                .getJsonArray("sessions").contains(tsih), 30, "B alone, serving TSIH " + tsih);
        assertEquals("node-b", m.getString("node"));
        Await.result(s.logout());
      } finally {
        Await.result(ini.close());
      }
    } finally {
      client.close();
    }
  }

  /** A standalone server loads no cluster class (start-up unchanged); a clustered one does. */
  @Test
  void standaloneLoadsNoClusterClass(@TempDir Path dir) throws Exception {
    Path lun = dir.resolve("lun0.img");
    String standalone;
    try (Node n = ClusterNodes.start(dir, "standalone", PORTAL_A, ClusterNodes.config("standalone", PORTAL_A, 0, null,
        lun, null), "-Xlog:class+load=info").awaitServing(60)) {
      standalone = n.log();
    }
    assertTrue(standalone.contains("io.spindle.server.iscsi.IscsiService"), "class loading is logged");
    assertFalse(standalone.contains("com.hazelcast"), "a standalone server loaded Hazelcast");
    assertFalse(standalone.contains("io.spindle.cluster.hazelcast"), "a standalone server loaded the cluster node");
    String clustered;
    try (Node n = ClusterNodes.start(dir, "clustered", PORTAL_B, ClusterNodes.config("clustered", PORTAL_B, MEMBER_B,
        List.of(MEMBER_B), lun, null), "-Xlog:class+load=info").awaitServing(120)) {
      clustered = n.log();
    }
    assertTrue(clustered.contains("com.hazelcast.core.HazelcastInstance"), "the clustered server runs Hazelcast");
  }

  private static List<String> addresses(IscsiInitiator ini, int port) {
    List<DiscoveredTarget> ts = Await.result(ini.discover("127.0.0.1", port));
    for (DiscoveredTarget t : ts) if (t.name().equals(ClusterNodes.TARGET)) return t.addresses();
    return List.of();
  }

  private static JsonObject admin(int port, String op) {
    try {
      HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + port + "/admin/" + op)).POST(HttpRequest.BodyPublishers.ofString("{}"))
          .header("Authorization", "Bearer " + ClusterNodes.ADMIN_TOKEN).header("Content-Type", "application/json")
          .build(), HttpResponse.BodyHandlers.ofString());
      return new JsonObject(r.body());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** {writes, bytes} of A's state replication so far (Prometheus counters). */
  private static long[] replication(int port) {
    try {
      String text = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
          + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
      return new long[] {counter(text, "spindle_cluster_replication_writes_total"),
          counter(text, "spindle_cluster_replication_bytes_total")};
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static long counter(String text, String name) {
    for (String line : text.split("\n")) {
      if (line.startsWith(name)) return (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
    }
    throw new AssertionError(name + " not in the metrics:\n" + text);
  }

  private static long lba(int chunk) {
    return (long) chunk * (CHUNK / BLOCK);
  }

  private static byte[] pattern(int seed) {
    byte[] b = new byte[CHUNK];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static byte[] bytes(ScsiResponse r) {
    byte[] got = new byte[r.data().readableBytes()];
    r.data().getBytes(r.data().readerIndex(), got);
    return got;
  }

  private static void assertGood(ScsiResponse r, String what) {
    try (r) {
      assertTrue(r.isGood(), what + ": " + r);
    }
  }
}
