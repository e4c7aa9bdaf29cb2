package io.spindle.server.realpeers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.server.realpeers.RealPeers.ToolRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Linux kernel's initiators against the server: {@code ops/linux-initiator/run.sh} boots a
 * Debian guest under QEMU and runs discovery, login, the SCSI identity pages, dd, ext4 across a
 * re-login, fio with verification, discard, persistent reservations and a kill -9 of the server
 * during synchronous writes, over open-iscsi's iscsi_tcp and over ib_iser on soft-iWARP; then
 * iscsi_tcp on the iSER portal and ten iSER logouts without a connection error in the guest's
 * kernel log. Skipped (with the reason) where QEMU is not installed or the guest cannot be built.
 */
class LinuxInitiatorIT {

  /** Guest build (first run only, about 5-8 minutes) plus the steps (about 10 minutes under TCG). */
  private static final Duration BOUND = Duration.ofMinutes(25);
  /** Setup 2, 13 per transport, iscsi_tcp on the iSER portal 3, siw 1, logouts 1. */
  private static final int STEPS = 33;

  @TempDir
  Path dir;

  @Test
  void linuxInitiatorsPassEveryStepOverIscsiTcpAndIser() throws Exception {
    Assumptions.assumeFalse(Boolean.getBoolean("spindle.linuxInitiator.skip"), "-Dspindle.linuxInitiator.skip=true");
    RealPeers.assumeTool("qemu-system-x86_64", "qemu-system-x86");
    RealPeers.assumeTool("qemu-img", "qemu-utils");
    RealPeers.assumeTool("ssh", "openssh-client");
    Path script = Path.of("..", "ops", "linux-initiator", "run.sh").toAbsolutePath().normalize();
    Path jar = Path.of("target", "spindle.jar").toAbsolutePath();
    Assumptions.assumeTrue(Files.isRegularFile(jar), "no " + jar + " (the suite runs after package)");
    boolean built = cached(script.resolveSibling("build-guest.sh"));
    Assumptions.assumeTrue(built || RealPeers.onPath("mmdebstrap"),
        "no cached guest image and mmdebstrap is not installed: apt-get install mmdebstrap");
    Assumptions.assumeTrue(built || "root".equals(System.getProperty("user.name")),
        "no cached guest image, and building one (mmdebstrap, chroot) needs root");
    String java = ProcessHandle.current().info().command().orElse("java");
    ToolRun r = RealPeers.run(dir, BOUND, "env", "JAVA=" + java, script.toString(), "--jar", jar.toString());
    System.out.println(r.output());
    Matcher summary = Pattern.compile("SUMMARY: (\\d+) passed, (\\d+) failed").matcher(r.output());
    assertTrue(summary.find(), r::describe);
    assertEquals(0, Integer.parseInt(summary.group(2)), r::describe);
    assertEquals(STEPS, Integer.parseInt(summary.group(1)), r::describe);
    assertEquals(0, r.exitCode(), r::describe);
    List<String> logouts = r.output().lines().filter(l -> l.contains("kernel log lines with conn error")).toList();
    assertEquals(List.of("    10 logouts, kernel log lines with conn error / QP fatal: 0"), logouts, r::describe);
  }

  /** Whether build-guest.sh has an image for its current recipe (then no root or mmdebstrap is needed). */
  private static boolean cached(Path buildScript) throws Exception {
    // build-guest.sh keys its cache by the first 16 hex digits of its own SHA-256.
    byte[] sha = java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(buildScript));
    String key = java.util.HexFormat.of().formatHex(sha).substring(0, 16);
    Path cache = Path.of(System.getenv().getOrDefault("SPINDLE_LI_CACHE", "/var/cache/spindle-linux-initiator"));
    return Files.exists(cache.resolve(key).resolve("done"));
  }
}
