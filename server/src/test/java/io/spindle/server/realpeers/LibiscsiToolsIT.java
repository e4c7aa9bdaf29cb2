package io.spindle.server.realpeers;

import static io.spindle.server.realpeers.RealPeers.IQN;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.server.realpeers.RealPeers.Running;
import io.spindle.server.realpeers.RealPeers.ToolRun;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * libiscsi's command-line tools (Debian libiscsi-bin) against a running server: discovery,
 * REPORT LUNS, INQUIRY and READ CAPACITY as an independent initiator implementation sees them.
 */
class LibiscsiToolsIT {

  /** LUN 0: a 256 MiB sparse file of 512-byte blocks. */
  private static final long LUN0_BLOCKS = 256L * 1024 * 1024 / 512;

  @TempDir
  static Path dir;
  private static Running server;

  @BeforeAll
  static void start() throws Exception {
    if (!RealPeers.onPath("iscsi-ls")) return;
    server = Running.start(RealPeers.config(
        RealPeers.fileLun(0, dir.resolve("lun0.img"), "256M"),
        RealPeers.memoryLun(1, "16M")));
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) server.close();
  }

  @BeforeEach
  void needsLibiscsi() {
    RealPeers.assumeTool("iscsi-ls", "libiscsi-bin");
  }

  @Test
  void discoveryListsTheTargetAndItsLunsWithTheirSizes() throws Exception {
    ToolRun r = RealPeers.run(dir, "iscsi-ls", "-s", server.portalUrl()).assertSucceeded();
    List<String> lines = r.output().lines().map(String::strip).toList();
    // SendTargets (RFC 7143 §12.3 and Appendix C) answers the portal with its portal group tag.
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("Target:" + IQN + " Portal:127.0.0.1:" + server.port() + ",")),
        r::describe);
    // iscsi-ls prints READ CAPACITY(10)'s RETURNED LOGICAL BLOCK ADDRESS times the block length,
    // i.e. one block short of the capacity (the field is the last LBA: SBC-4, READ CAPACITY (10)
    // parameter data), then
    // truncates to whole units: 256 MiB shows as 255M and 16 MiB as 15M.
    assertTrue(lines.stream().anyMatch(l -> l.matches("Lun:0\\s+Type:DIRECT_ACCESS \\(Size:255M\\)")), r::describe);
    assertTrue(lines.stream().anyMatch(l -> l.matches("Lun:1\\s+Type:DIRECT_ACCESS \\(Size:15M\\)")), r::describe);
    assertTrue(lines.stream().noneMatch(l -> l.startsWith("Lun:") && !l.startsWith("Lun:0 ") && !l.startsWith("Lun:1 ")),
        () -> "only LUNs 0 and 1 are configured:\n" + r.describe());
  }

  @Test
  void inquiryShowsTheSpindleVendorAndADiskDevice() throws Exception {
    ToolRun r = RealPeers.run(dir, "iscsi-inq", server.lunUrl(IQN, 0)).assertSucceeded();
    List<String> lines = r.output().lines().map(String::strip).toList();
    // SPC-4 6.6.2: T10 VENDOR IDENTIFICATION is 8 ASCII bytes, space padded.
    assertTrue(lines.contains("Vendor:SPINDLE"), r::describe);
    assertTrue(lines.contains("Peripheral Qualifier:CONNECTED"), r::describe);
    assertTrue(lines.contains("Peripheral Device Type:DIRECT_ACCESS"), r::describe);
    // SPC-4 6.6.2: CMDQUE = 1, the logical unit queues commands (the engine runs them concurrently).
    assertTrue(lines.contains("CmdQue:1"), r::describe);
  }

  @Test
  void readCapacity16ReportsTheBlockCountAndLength() throws Exception {
    ToolRun r = RealPeers.run(dir, "iscsi-readcapacity16", server.lunUrl(IQN, 0)).assertSucceeded();
    List<String> lines = r.output().lines().map(String::strip).toList();
    // SBC-4, READ CAPACITY (16) parameter data: RETURNED LOGICAL BLOCK ADDRESS is the last LBA,
    // one less than the block count.
    assertTrue(lines.contains("RETURNED LOGICAL BLOCK ADDRESS:" + (LUN0_BLOCKS - 1)), r::describe);
    assertTrue(lines.contains("LOGICAL BLOCK LENGTH IN BYTES:512"), r::describe);
    assertTrue(lines.contains("Total size:" + LUN0_BLOCKS * 512), r::describe);
  }

  @Test
  void aMemoryLunReportsItsOwnCapacity() throws Exception {
    ToolRun r = RealPeers.run(dir, "iscsi-readcapacity16", server.lunUrl(IQN, 1)).assertSucceeded();
    assertTrue(r.output().lines().map(String::strip).toList().contains("Total size:" + 16L * 1024 * 1024),
        r::describe);
  }

  @Test
  void loginToATargetThatDoesNotExistFails() throws Exception {
    ToolRun r = RealPeers.run(dir, "iscsi-inq", server.lunUrl("iqn.2026-11.io.spindle:no-such-target", 0));
    assertNotEquals(0, r.exitCode(), r::describe);
    // RFC 7143 §11.13.5: Status-Class 2, Status-Detail 3 "Not found"; libiscsi names it so
    // and prints the code (0x0203 = 515).
    assertTrue(r.output().contains("Target not found(515)"), r::describe);
    // And the server still serves the real target afterwards.
    RealPeers.run(dir, "iscsi-readcapacity16", server.lunUrl(IQN, 0)).assertSucceeded();
  }
}
