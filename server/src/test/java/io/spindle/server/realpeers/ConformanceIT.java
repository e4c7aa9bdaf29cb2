package io.spindle.server.realpeers;

import static io.spindle.server.realpeers.RealPeers.IQN;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.spindle.server.ItSupport;
import io.spindle.server.realpeers.CuReport.Result;
import io.spindle.server.realpeers.CuReport.Status;
import io.spindle.server.realpeers.RealPeers.Running;
import io.spindle.server.realpeers.RealPeers.ToolRun;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.slf4j.LoggerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * libiscsi's conformance suite, {@code iscsi-test-cu}, against one thin file-backed LUN like the
 * demo's, run by {@code ops/conformance/conformance.sh -S}: the SCSI family (SBC/SPC commands,
 * sanitize included) and the iSCSI family (CmdSN, DataSN, NOP, ...), each given the LUN's URL
 * twice so the multipath tests run over two sessions. The per-test results go to
 * target/conformance/report.txt, with the raw output beside it.
 */
class ConformanceIT {

  /**
   * The score the server has reached. These only ever tighten: raise MIN_PASSED and lower
   * MAX_FAILED when the server gets better; never loosen them to make a regression pass.
   */
  // 2026-11-21: 215 passed, 0 failed, 15 skipped (with -S). One test of margin for timing-dependent
  // tests on a loaded 2-core CI machine. The LUN is 1 GiB like the demo's: Sanitize.Reset checks the
  // overwrite is still running about five seconds after it started, which a smaller LUN outruns.
  static final int MIN_PASSED = 214;
  static final int MAX_FAILED = 1;

  /** The whole run; today it takes well under a minute. */
  private static final Duration BUDGET = Duration.ofMinutes(10);

  @TempDir
  Path dir;

  private static ResourceLeakDetector.Level leakLevel;
  /** Netty's leak reports (it logs them at ERROR through SLF4J): any one fails the test. */
  private static final ListAppender<ILoggingEvent> leaks = new ListAppender<>();

  /**
   * The build runs tests with paranoid leak detection, which records a stack trace on every
   * buffer access; over this suite's hundreds of thousands of PDUs that makes the run about ten
   * times slower (about 210 s instead of 20 s here). This class samples instead (ADVANCED: one
   * buffer in 128, with access records), which still reports a leak the suite provokes
   * repeatedly; the other tests keep paranoid. Netty reads the level on every allocation, so
   * the change takes effect at once and is undone after the class.
   */
  @BeforeAll
  static void sampleLeaks() {
    leaks.start();
    ((Logger) LoggerFactory.getLogger(ResourceLeakDetector.class)).addAppender(leaks);
    leakLevel = ItSupport.sampledLeakDetection();
  }

  @AfterAll
  static void restoreLeakLevel() {
    ResourceLeakDetector.setLevel(leakLevel);
    ((Logger) LoggerFactory.getLogger(ResourceLeakDetector.class)).detachAppender(leaks);
  }

  @Test
  void libiscsiConformanceSuiteScoreDoesNotRegress() throws Exception {
    RealPeers.assumeTool("iscsi-test-cu", "libiscsi-bin");
    Path out = Path.of(System.getProperty("basedir", System.getProperty("user.dir")), "target", "conformance");
    Files.createDirectories(out);
    Path script = Path.of(System.getProperty("basedir", System.getProperty("user.dir")))
        .resolve("../ops/conformance/conformance.sh").normalize();
    String all;
    String run;
    try (Running server = Running.start(RealPeers.config(RealPeers.fileLun(0, dir.resolve("lun0.img"), "1G")))) {
      // The project's conformance script: SCSI and iSCSI families, the URL twice (multipath),
      // -d (data-loss tests; the LUN is scratch) and -S (sanitize tests, each in its own suite).
      String[] cmd = {"bash", script.toString(), "-S", server.lunUrl(IQN, 0), out.toString()};
      ToolRun r = RealPeers.run(dir, BUDGET, cmd);
      Files.writeString(out.resolve("script.txt"), r.output(), StandardCharsets.ISO_8859_1);
      run = r.describe();
      all = Files.exists(out.resolve("cu-all.txt"))
          ? Files.readString(out.resolve("cu-all.txt"), StandardCharsets.ISO_8859_1) : "";
    }
    CuReport report = CuReport.parse(all);
    Path reportFile = out.resolve("report.txt");
    Files.writeString(reportFile, report.render());

    assertFalse(report.results().isEmpty(), () -> "no test results from the script:\n" + run);
    int passed = report.with(Status.PASSED).size();
    List<Result> failed = report.with(Status.FAILED);
    String message = report.summary() + " (need >= " + MIN_PASSED + " passed, <= " + MAX_FAILED + " failed); see "
        + reportFile + "\nfailed:\n" + failed.stream().map(r -> "  " + r.name() + "  " + r.note())
        .collect(Collectors.joining("\n"));
    assertTrue(passed >= MIN_PASSED && failed.size() <= MAX_FAILED, message);
    // Netty reports a collected, unreleased buffer when a later allocation is sampled; collect,
    // then allocate enough to be sampled (one in 128). Best effort: a leak found fails the test.
    System.gc();
    for (int i = 0; i < 1024; i++) ByteBufAllocator.DEFAULT.buffer(1).release();
    assertTrue(leaks.list.isEmpty(), () -> "buffer leaks during the run:\n" + leaks.list.stream()
        .map(ILoggingEvent::getFormattedMessage).collect(Collectors.joining("\n")));
  }
}
