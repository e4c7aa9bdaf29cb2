package io.spindle.server.cluster;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * Issue 16's failover runs, from {@code mvn verify}: ops/cluster-test/failover.sh starts three
 * Spindle JVMs (each in its own network namespace when run as root, else on 127.0.0.11-13)
 * serving one LUN from one shared file, runs the initiator's verify workload at ERL 2 across their
 * portals and kills (kill -9, then SIGSTOP) the node serving the session every few seconds. The
 * script's CHECK lines must all pass: SendTargets from each node before and after a node loss,
 * {@code mismatches=0 errors=0}, recoveries at least the faults, one failover per fault and no
 * session re-login, the live session's TSIH not given to a new session.
 *
 * <p>Skipped, with the reason, when the jars are not built or the server refuses a config with a
 * {@code "cluster"} section. Shorter than the 2-minute runs (60 s, a fault every 15 s) so
 * the build stays within minutes; {@code -Dspindle.cluster.duration=120s -Dspindle.cluster.every=20s}
 * runs them in full. Takes about 4-5 minutes.
 */
@EnabledOnOs(OS.LINUX)
class ThreeNodeFailoverIT {

  @Test
  void sessionsContinueOnAnotherNodeWhenTheirNodeIsKilledOrHung() throws Exception {
    Path root = Path.of("").toAbsolutePath();
    if (!Files.exists(root.resolve("ops/cluster-test/failover.sh"))) root = root.getParent();
    Path script = root.resolve("ops/cluster-test/failover.sh");
    Path server = root.resolve("server/target/spindle.jar");
    Path initiator = root.resolve("ops/initiator/target/spindle-initiator.jar");
    Assumptions.assumeTrue(Files.exists(script), "no " + script);
    Assumptions.assumeTrue(Files.exists(server) && Files.exists(initiator),
        "skipped: the jars are not built (" + server + ", " + initiator + "); run mvn verify or package first");
    ProcessBuilder pb = new ProcessBuilder("bash", script.toString(), "--mode", "both",
        "--duration", System.getProperty("spindle.cluster.duration", "60s"),
        "--every", System.getProperty("spindle.cluster.every", "15s"))
        .directory(root.toFile()).redirectErrorStream(true);
    Process p = pb.start();
    List<String> lines = new ArrayList<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          System.out.println("[cluster-test] " + line);
          synchronized (lines) {
            lines.add(line);
          }
        }
      } catch (IOException e) {
        // The process ended.
      }
    });
    reader.start();
    if (!p.waitFor(20, TimeUnit.MINUTES)) {
      // SIGTERM: the script's trap stops the nodes and removes its namespaces.
      p.destroy();
      p.waitFor(30, TimeUnit.SECONDS);
      fail("ops/cluster-test/failover.sh did not finish within 20 minutes");
    }
    reader.join(10_000);
    List<String> out;
    synchronized (lines) {
      out = List.copyOf(lines);
    }
    String skip = out.stream().filter(l -> l.startsWith("SKIP:")).findFirst().orElse(null);
    if (p.exitValue() == 77) {
      System.out.println("ThreeNodeFailoverIT skipped: " + skip);
      Assumptions.abort(skip == null ? "failover.sh skipped (exit 77)" : skip);
    }
    String checks = String.join("\n", out.stream()
        .filter(l -> l.startsWith("CHECK") || l.startsWith("failover ") || l.startsWith("RESULT")
            || l.startsWith("sendtargets") || l.startsWith("netns"))
        .toList());
    if (p.exitValue() != 0) fail("failover.sh exit " + p.exitValue() + ":\n" + checks);
    assertTrue(out.contains("RESULT PASS"), checks);
    assertTrue(out.stream().anyMatch(l -> l.startsWith("CHECK PASS verify-kill-clean")), checks);
    assertTrue(out.stream().anyMatch(l -> l.startsWith("CHECK PASS verify-stop-clean")), checks);
  }
}
