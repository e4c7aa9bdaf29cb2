package io.spindle.server.hostile;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.util.ResourceLeakDetector;
import io.spindle.initiator.cli.IscsiUrl;
import io.spindle.initiator.cli.VerifyWorkload;
import io.spindle.server.ItSupport;
import io.spindle.server.SpindleServer;
import io.spindle.server.config.ServerConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 21, case 1: a logged-in peer that does not read cannot make the server buffer without
 * limit. It floods NOP-Out pings, or READs, never reading the answers; the server stops reading
 * from it once the connection's outbound bound is reached (its writes are no longer taken), closes
 * it when it stays over for {@code negotiation.outboundStallTimeout}, and holds no more than the
 * bound meanwhile. A verifying client on another session works throughout with no error.
 *
 * <p>Bound here (OutboundSizing): 4 × 256 KiB MaxBurstLength + 4 × 8 KiB (the peer's
 * MaxRecvDataSegmentLength) + 32 × 2 × 512 = 1.06 MiB, plus 32 READs of 64 KiB in the window.
 */
class OutboundFloodIT {

  static final String TARGET = "iqn.2026-11.io.spindle:flood";
  static final String VICTIM = "iqn.2026-11.io.spindle:victim";
  /** Growth the test allows: the bound, the window and the verifying client's own buffers, many times over. */
  static final long ALLOWED_GROWTH = 64L << 20;
  static final int STALL_SECONDS = 3;

  static Vertx vertx;
  static SpindleServer server;
  static int port;
  @TempDir
  static Path dir;

  static ResourceLeakDetector.Level leakLevel;

  @BeforeAll
  static void start() throws Exception {
    // Paranoid tracking keeps a record of every access of every buffer on the heap: at a flood's rate
    // it slows the server tenfold and its records are most of what the heap holds.
    leakLevel = ItSupport.sampledLeakDetection();
    vertx = Vertx.vertx();
    Files.createDirectories(dir);
    JsonObject config = new JsonObject()
        .put("portals", new JsonArray().add(new JsonObject().put("address", "127.0.0.1:0")
            .put("sendBufferSize", 65536).put("receiveBufferSize", 65536)))
        .put("targets", new JsonArray()
            .add(target(TARGET, dir.resolve("flood.img")))
            .add(target(VICTIM, dir.resolve("victim.img"))))
        .put("negotiation", new JsonObject().put("queueDepth", 32).put("maxBurstLength", 262144)
            .put("firstBurstLength", 65536).put("outboundStallTimeout", STALL_SECONDS).put("nopInInterval", 0));
    server = SpindleServer.start(vertx, ServerConfig.fromJson(config)).await(30, TimeUnit.SECONDS);
    port = server.ports().get(0);
  }

  private static JsonObject target(String name, Path file) {
    return new JsonObject().put("name", name).put("acl", "any").put("luns", new JsonArray()
        .add(new JsonObject().put("lun", 0).put("backing", "file").put("path", file.toString()).put("size", "16M")));
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) server.stop().await(30, TimeUnit.SECONDS);
    if (vertx != null) vertx.close().await(10, TimeUnit.SECONDS);
    ResourceLeakDetector.setLevel(leakLevel);
  }

  /** A verifying client on the victim target for {@code seconds}, in the background. */
  private static CompletableFuture<VerifyWorkload.Result> victim(int seconds) {
    return CompletableFuture.supplyAsync(() -> ItSupport.verifyClean(new VerifyWorkload.Settings(
        new IscsiUrl("127.0.0.1", port, VICTIM, 0), 0, 1, 8, Duration.ofSeconds(seconds), Duration.ZERO, 0, 0, 512,
        256 << 10, 21, 8L << 20)));
  }

  private void flood(String what, FloodingPeer.Pdus pdus, FloodingPeer peer) throws Exception {
    CompletableFuture<VerifyWorkload.Result> verify = victim(12);
    Thread.sleep(2000); // the verifying client's buffers are allocated before the baseline
    String before = ServerMemory.describe();
    long base = ServerMemory.sample();
    String[] whilePaused = {"(never quiet)"};
    long[] peak = {0};
    FloodingPeer.Outcome o = peer.floodUntilClosed(pdus, (STALL_SECONDS + 40) * 1000L, () -> {
      whilePaused[0] = ServerMemory.describe();
      peak[0] = ServerMemory.sample();
    });
    VerifyWorkload.Result r = verify.get(120, TimeUnit.SECONDS);
    String line = what + ": memory before " + before + ", while the server did not read " + whilePaused[0]
        + ", after close " + ServerMemory.describe() + "; the server last read at " + o.lastTakenMillis()
        + " ms and closed the peer at " + o.closedMillis() + " ms, " + o.quietBeforeCloseMillis()
        + " ms after it stopped reading; verifying client " + r;
    System.out.println("OutboundFloodIT " + line);
    assertTrue(o.closedMillis() >= 0, "the peer over its bound was not closed: " + line);
    // Closed for not reading: the server had stopped reading from it for about the stall timeout.
    assertTrue(o.quietBeforeCloseMillis() >= STALL_SECONDS * 1000L - 500, "closed without a pause first: " + line);
    assertTrue(peak[0] - base < ALLOWED_GROWTH, "the server held more than the bound: " + line);
  }

  @Test
  void nopOutFloodIsPausedThenClosedAndMemoryStaysBounded() throws Exception {
    try (FloodingPeer peer = FloodingPeer.login(port, "iqn.2026-11.io.spindle:nop-flood", TARGET)) {
      RawPeer raw = peer.raw();
      // 64-byte pings: each NOP-In echoes them (RFC 7143 §11.18.1), so the target's answers outweigh the requests.
      flood("NOP-Out flood", n -> raw.nopOutBytes(n | 0x1000_0000, 64), peer);
    }
  }

  @Test
  @Disabled("issue 21, open: commands decoded from the last socket read before reading stopped still run and queue"
      + " their Data-In; on a quiet machine one connection held 85.6 MiB of pooled buffers against a 1.06 MiB"
      + " bound (README, Limits). Enable again once the session stops dispatching, and MaxCmdSN stops moving,"
      + " while a connection is over its outbound bound.")
  void unreadReadsArePausedThenClosedAndMemoryStaysBounded() throws Exception {
    try (FloodingPeer peer = FloodingPeer.login(port, "iqn.2026-11.io.spindle:read-flood", TARGET)) {
      RawPeer raw = peer.raw();
      // READ(10) of 64 KiB each, CmdSN 1, 2, ...: the window lets them in as earlier ones complete.
      flood("unread READ(10) flood",
          n -> raw.commandBytes(n + 1, RawPeer.cdb10(0x28, (n * 128L) % 32768, 128), 65536, true, false), peer);
    }
  }
}
