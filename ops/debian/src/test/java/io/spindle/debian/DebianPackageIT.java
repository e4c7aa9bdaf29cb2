package io.spindle.debian;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The package as an administrator meets it: dpkg -i, the launcher started the way the systemd unit
 * starts it (there is no systemd here: the unit's User= and ExecStart= line, run with setpriv),
 * libiscsi logging in, SIGHUP reload, SIGTERM stop with exit 0, dpkg --purge leaving nothing
 * behind. Root only (it installs a package); ports 25260 and 25280 (the admin helper's range)
 * instead of the demo's 3260 and 9180, which other runs on this machine may hold.
 */
class DebianPackageIT {

  static final String PORTAL = "127.0.0.1:25260";
  static final String ADMIN = "127.0.0.1:25280";

  record Result(int code, String out) {
  }

  static Result run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(180, TimeUnit.SECONDS), String.join(" ", cmd) + " did not finish");
    return new Result(p.exitValue(), out);
  }

  static boolean installed() throws Exception {
    return run("dpkg-query", "-W", "-f=${Status}", "spindle").out().contains("install ok installed");
  }

  @AfterAll
  static void purge() throws Exception {
    if (isRoot() && installed()) run("dpkg", "--purge", "spindle");
  }

  static boolean isRoot() throws Exception {
    return run("id", "-u").out().strip().equals("0");
  }

  static Path deb() throws Exception {
    try (Stream<Path> s = Files.list(Path.of("target"))) {
      return s.filter(p -> p.getFileName().toString().matches("spindle_.*_all\\.deb")).findFirst()
          .orElseThrow(() -> new AssertionError("no target/spindle_*_all.deb: run mvn package"));
    }
  }

  /** The value of {@code key=} in the installed unit. */
  static String unit(String key) throws Exception {
    return Files.readAllLines(Path.of("/lib/systemd/system/spindle.service")).stream()
        .filter(l -> l.startsWith(key + "=")).findFirst().orElseThrow().substring(key.length() + 1);
  }

  /** Whether SIGHUP is ignored in this JVM, and so in the children it starts. */
  static boolean hangupIgnored() throws Exception {
    for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (l.startsWith("SigIgn:")) return (Long.parseLong(l.substring(7).strip(), 16) & 1L) != 0;
    }
    return false;
  }

  static void awaitLine(Path log, Process p, String text) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (!Files.readString(log).contains(text)) {
      if (!p.isAlive()) throw new AssertionError("exited " + p.exitValue() + ":\n" + Files.readString(log));
      if (System.nanoTime() > deadline) throw new AssertionError("no \"" + text + "\":\n" + Files.readString(log));
      Thread.sleep(100);
    }
  }

  @Test
  void installServeReloadStopAndPurge() throws Exception {
    assumeTrue(isRoot(), "not root: the Debian package install test is skipped (it runs dpkg -i)");
    assumeTrue(run("sh", "-c", "command -v dpkg && command -v setpriv").code() == 0, "no dpkg or setpriv here");
    boolean libiscsi = run("sh", "-c", "command -v iscsi-ls").code() == 0;
    if (installed()) run("dpkg", "--purge", "spindle");

    Result install = run("dpkg", "-i", deb().toString());
    assertEquals(0, install.code(), install.out());
    for (String f : List.of("/usr/bin/spindle", "/usr/bin/spindle-cli", "/usr/share/spindle/spindle.jar",
        "/usr/share/spindle/spindle-cli.jar", "/etc/spindle/spindle.json", "/etc/spindle/admin.token",
        "/lib/systemd/system/spindle.service")) {
      assertTrue(Files.exists(Path.of(f)), f);
    }
    assertTrue(run("dpkg-query", "-W", "-f=${Conffiles}", "spindle").out().contains("/etc/spindle/spindle.json"));
    assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
        Files.getPosixFilePermissions(Path.of("/etc/spindle/admin.token"))));
    for (String hardening : List.of("NoNewPrivileges", "ProtectSystem", "StateDirectory", "Restart")) unit(hardening);
    assertEquals("on-failure", unit("Restart"));
    assertTrue(run("/usr/bin/spindle", "--version").out().startsWith("spindle "));

    // As the unit starts it: its user, its working directory, its ExecStart line.
    List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid", unit("User"), "--regid", unit("Group"),
        "--init-groups", "--"));
    cmd.addAll(Arrays.asList(unit("ExecStart").split(" ")));
    cmd.addAll(List.of("--portal", PORTAL, "--admin", ADMIN));
    Path log = Files.createTempFile("spindle-deb", ".log");
    Process server = new ProcessBuilder(cmd).directory(new File(unit("WorkingDirectory"))).redirectErrorStream(true)
        .redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
    try {
      awaitLine(log, server, "Spindle serving");
      if (libiscsi) {
        Result ls = run("iscsi-ls", "-s", "iscsi://" + PORTAL);
        assertEquals(0, ls.code(), ls.out());
        assertTrue(ls.out().contains("iqn.2026-11.io.spindle:demo") && ls.out().contains("Lun:0"), ls.out());
      }
      Result cli = run("/usr/bin/spindle-cli", "--admin", ADMIN, "targets");
      assertEquals(0, cli.code(), cli.out());
      assertTrue(cli.out().contains("/var/lib/spindle/demo-lun0.img"), cli.out());
      assertTrue(Files.exists(Path.of("/var/lib/spindle/demo-lun0.img")));

      if (!hangupIgnored()) {
        assertEquals(0, run("kill", "-HUP", Long.toString(server.pid())).code());
      } else {
        // Started under nohup: the server (rightly) keeps SIGHUP ignored; reload the way systemd cannot.
        assertEquals(0, run("/usr/bin/spindle-cli", "--admin", ADMIN, "reload").code());
      }
      awaitLine(log, server, "reload applied");
      assertEquals(0, run("kill", "-TERM", Long.toString(server.pid())).code());
      assertTrue(server.waitFor(90, TimeUnit.SECONDS), Files.readString(log));
      assertEquals(0, server.exitValue(), Files.readString(log));
      assertTrue(Files.readString(log).contains("stopped cleanly"));
    } finally {
      server.destroyForcibly();
      System.out.println(Files.readString(log));
      Files.deleteIfExists(log);
    }

    Result purge = run("dpkg", "--purge", "spindle");
    assertEquals(0, purge.code(), purge.out());
    assertFalse(installed());
    for (String f : List.of("/etc/spindle", "/var/lib/spindle", "/usr/share/spindle", "/usr/bin/spindle",
        "/lib/systemd/system/spindle.service")) {
      assertFalse(Files.exists(Path.of(f)), f + " left after purge");
    }
    assertTrue(run("getent", "passwd", "spindle").code() != 0, "user spindle left after purge");
  }
}
