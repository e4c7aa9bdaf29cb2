package io.spindle.server.realpeers;

import static io.spindle.server.realpeers.RealPeers.IQN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.util.ResourceLeakDetector;
import io.spindle.server.ItSupport;
import io.spindle.server.realpeers.CuReport.Result;
import io.spindle.server.realpeers.CuReport.Status;
import io.spindle.server.realpeers.RealPeers.Running;
import io.spindle.server.realpeers.RealPeers.ToolRun;
import io.spindle.store.rbd.DevCluster;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * libiscsi's conformance suite ({@code ops/conformance/conformance.sh -S}) on a LUN backed by a
 * Ceph RBD image of the one-node cluster of {@code ops/ceph/dev-cluster.sh}: nothing may fail,
 * and no test may be skipped as not implemented. Skipped when Ceph cannot start here.
 */
class RbdConformanceIT {

  private static final Duration BUDGET = Duration.ofMinutes(10);
  private static ResourceLeakDetector.Level leakLevel;

  @TempDir
  Path dir;

  @BeforeAll
  static void ceph() {
    DevCluster.assumeRunning();
    leakLevel = ItSupport.sampledLeakDetection();
  }

  @AfterAll
  static void restoreLeakLevel() {
    if (leakLevel != null) ResourceLeakDetector.setLevel(leakLevel);
  }

  /** An RBD LUN of {@code size} on a fresh image of the rbd pool. */
  static JsonObject rbdLun(int lun, String image, String size) {
    return new JsonObject().put("lun", lun).put("backing", "rbd").put("pool", "rbd").put("image", image)
        .put("size", size).put("create", true).put("cephConf", DevCluster.CONF).put("keyring", DevCluster.KEYRING);
  }

  @Test
  void libiscsiConformanceSuitePassesOnAnRbdLun() throws Exception {
    RealPeers.assumeTool("iscsi-test-cu", "libiscsi-bin");
    Path base = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
    Path out = base.resolve("target/conformance-rbd");
    Files.createDirectories(out);
    Path script = base.resolve("../ops/conformance/conformance.sh").normalize();
    String image = "conformance-" + Long.toHexString(System.nanoTime());
    String all;
    String run;
    try (Running server = Running.start(RealPeers.config(rbdLun(0, image, "1G")))) {
      String[] cmd = {"bash", script.toString(), "-S", server.lunUrl(IQN, 0), out.toString()};
      ToolRun r = RealPeers.run(dir, BUDGET, cmd);
      Files.writeString(out.resolve("script.txt"), r.output(), StandardCharsets.ISO_8859_1);
      run = r.describe();
      all = Files.exists(out.resolve("cu-all.txt"))
          ? Files.readString(out.resolve("cu-all.txt"), StandardCharsets.ISO_8859_1) : "";
    } finally {
      try {
        DevCluster.rbd("rm", "--no-progress", "rbd/" + image);
      } catch (java.io.IOException e) {
        // the image may not exist if the server never started
      }
    }
    CuReport report = CuReport.parse(all);
    Path reportFile = out.resolve("report.txt");
    Files.writeString(reportFile, report.render());
    assertFalse(report.results().isEmpty(), () -> "no test results from the script:\n" + run);
    List<Result> failed = report.with(Status.FAILED);
    List<Result> notImplemented = report.with(Status.SKIPPED).stream()
        .filter(r -> r.note().toLowerCase(java.util.Locale.ROOT).contains("not implemented")).toList();
    String message = report.summary() + "; see " + reportFile + "\nfailed:\n" + failed.stream()
        .map(r -> "  " + r.name() + "  " + r.note()).collect(Collectors.joining("\n")) + "\nnot implemented:\n"
        + notImplemented.stream().map(r -> "  " + r.name() + "  " + r.note()).collect(Collectors.joining("\n"));
    System.out.println("RBD conformance: " + report.summary());
    assertEquals(List.of(), failed, message);
    assertEquals(List.of(), notImplemented, message);
    assertTrue(report.with(Status.PASSED).size() >= 200, message);
  }
}
