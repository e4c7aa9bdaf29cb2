package io.spindle.store.rbd;

import io.spindle.scsi.LunOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The one-node Ceph of {@code ops/ceph/dev-cluster.sh} for tests: started once per JVM, and a
 * test that needs it is skipped (with the script's output as the reason) when it cannot start.
 */
public final class DevCluster {

  public static final String CONF = System.getProperty("spindle.ceph.conf", "/tmp/spindle-ceph/ceph.conf");
  public static final String KEYRING = Path.of(CONF).resolveSibling("ceph.client.admin.keyring").toString();
  private static volatile String failure;
  private static volatile boolean started;

  private DevCluster() {
  }

  /** The repository root: the first parent holding ops/ceph/dev-cluster.sh. */
  public static Path script() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !Files.isRegularFile(p.resolve("ops/ceph/dev-cluster.sh"))) p = p.getParent();
    if (p == null) throw new IllegalStateException("ops/ceph/dev-cluster.sh not found above " + Path.of("").toAbsolutePath());
    return p.resolve("ops/ceph/dev-cluster.sh");
  }

  /** Starts the cluster when it is not up; skips the calling test when that fails. */
  public static synchronized void assumeRunning() {
    if (!started && failure == null) {
      try {
        Process p = new ProcessBuilder(script().toString(), "start").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(180, TimeUnit.SECONDS) || p.exitValue() != 0) failure = out.trim();
        else started = true;
      } catch (IOException | InterruptedException | RuntimeException e) {
        failure = e.toString();
      }
    }
    Assumptions.assumeTrue(failure == null, () -> "no Ceph for the RBD tests (ops/ceph/dev-cluster.sh start): " + failure);
  }

  /** An RBD LUN on image {@code image} of the rbd pool, created with {@code size} when missing. */
  public static LunOptions lun(String image, long size) {
    return new LunOptions().backing("rbd").size(size).storeOption("pool", "rbd").storeOption("image", image)
        .storeOption("cephConf", CONF).storeOption("keyring", KEYRING).storeOption("create", true);
  }

  /** Runs the rbd CLI against the cluster; returns its output, fails on a non-zero exit. */
  public static String rbd(String... args) throws IOException, InterruptedException {
    String[] cmd = new String[args.length + 3];
    cmd[0] = "rbd";
    cmd[1] = "-c";
    cmd[2] = CONF;
    System.arraycopy(args, 0, cmd, 3, args.length);
    Path err = Files.createTempFile("rbd", ".err");
    try {
      Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IOException(String.join(" ", cmd) + ": " + out + Files.readString(err));
      }
      return out;
    } finally {
      Files.deleteIfExists(err);
    }
  }
}
