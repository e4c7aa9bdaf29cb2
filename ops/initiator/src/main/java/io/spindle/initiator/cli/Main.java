package io.spindle.initiator.cli;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.spindle.initiator.Await;
import io.spindle.initiator.DiscoveredTarget;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.IscsiInitiator;
import io.spindle.initiator.ScsiResponse;
import io.spindle.initiator.Session;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code java -jar spindle-initiator.jar COMMAND ...}: {@code verify}, {@code discover},
 * {@code read}, {@code write}. See {@link #USAGE} and ops/initiator/README.md.
 */
public final class Main {

  static final String USAGE = String.join("\n",
      "usage: spindle-initiator COMMAND [options]",
      "",
      "  verify URL [--erl N] [--connections N] [--queue-depth N] [--duration 60s]",
      "             [--kill-connection-every 2s] [--corrupt-data-digest 1%] [--corrupt-header-digest 0.1%]",
      "             [--min-size 512] [--max-size 1m] [--region 64m] [--seed N]",
      "             [--portal HOST:PORT]... [--liveness-timeout 5s] [--sendtargets on|off]",
      "             [--session-recovery on|off]",
      "      writes self-describing blocks, reads them back and checks every byte while injecting",
      "      faults; prints one line 'commands=N mismatches=M recoveries=R errors=E failovers=F'",
      "      and exits 0 only when mismatches=0 and errors=0",
      "      --portal (repeatable): further portals of the target, tried in order when the session's",
      "      portal dies; --liveness-timeout: silence with commands outstanding that counts as a dead",
      "      connection (0 = off); --sendtargets on (default): add the target's SendTargets portals;",
      "      --session-recovery off: a session that cannot be recovered in place fails its commands",
      "  bench URL [--erl N] [--queue-depth 32] [--size 4k] [--count 20000] [--write] [--region 64m]",
      "      times COUNT reads (or writes) at random aligned offsets, QD in flight, on one session;",
      "      prints 'ios=N seconds=S iops=X p50=us p99=us p999=us mean=us errors=E'",
      "  discover iscsi://host[:port]         SendTargets=All: one 'target address' line per portal",
      "  read URL --lba N [--blocks N]        hex dump of the blocks",
      "  write URL --lba N --file F           writes F (zero-padded to whole blocks)",
      "",
      "  URL is iscsi://host[:port]/target/lun (port 3260, LUN 0 by default), or iser://... for iSER",
      "  common: --initiator-name IQN, --transport tcp|iser-iwarp, -v (log recovery to stderr), --help",
      "  iSER:   --iser-style rfc7145|rfc5046  rfc7145 (default, as Linux): RDMA connection first, login",
      "          as iSER Sends; rfc5046: login over plain TCP, then MPA + iSER Hello on the same connection",
      "");

  private Main() {
  }

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs one command; returns the exit code (0 ok, 1 failed check or error, 2 usage). */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    Map<String, String> opts = new HashMap<>();
    List<String> portals = new ArrayList<>();
    List<String> positional = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--help") || a.equals("-h")) {
        out.print(USAGE);
        return 0;
      } else if (a.equals("-v")) {
        opts.put("-v", "");
      } else if (a.equals("--write")) {
        opts.put("write", "");
      } else if (a.startsWith("--")) {
        if (i + 1 >= args.length) return usage(err, "missing value for " + a);
        if (a.equals("--portal")) {
          portals.add(args[++i]);
        } else {
          opts.put(a.substring(2), args[++i]);
        }
      } else {
        positional.add(a);
      }
    }
    if (positional.size() != 2) return usage(err, positional.isEmpty() ? "no command" : "expected COMMAND URL");
    System.setProperty("spindle.initiator.log", opts.containsKey("-v") ? "INFO" : "WARN");
    if (System.getProperty("logback.configurationFile") == null) {
      System.setProperty("logback.configurationFile", "spindle-initiator-logback.xml");
    }
    Vertx vertx = Vertx.vertx();
    try {
      IscsiUrl url = IscsiUrl.parse(positional.get(1));
      if (opts.containsKey("transport")) {
        new InitiatorOptions().setTransport(opts.get("transport")); // checks the name
        url = url.withTransport(opts.get("transport"));
      }
      if (opts.containsKey("iser-style")) {
        new InitiatorOptions().setIserStyle(opts.get("iser-style")); // checks the name
        url = url.withIserStyle(opts.get("iser-style"));
      }
      switch (positional.get(0)) {
        case "verify":
          return verify(vertx, url, opts, portals, out, err);
        case "bench":
          return bench(vertx, url, opts, out);
        case "discover":
          return discover(vertx, url, opts, out);
        case "read":
          return read(vertx, url, opts, out);
        case "write":
          return write(vertx, url, opts, out);
        default:
          return usage(err, "unknown command " + positional.get(0));
      }
    } catch (IllegalArgumentException e) {
      return usage(err, e.getMessage());
    } catch (RuntimeException | IOException e) {
      err.println("error: " + e.getMessage());
      return 1;
    } finally {
      Await.result(vertx.close());
    }
  }

  private static int usage(PrintStream err, String problem) {
    err.println("error: " + problem);
    err.print(USAGE);
    return 2;
  }

  private static int verify(Vertx vertx, IscsiUrl url, Map<String, String> o, List<String> portals, PrintStream out,
      PrintStream err) {
    boolean sendTargets = onOff(o, "sendtargets");
    boolean sessionRecovery = onOff(o, "session-recovery");
    VerifyWorkload.Settings s = new VerifyWorkload.Settings(url,
        (int) number(o, "erl", 0, 0, 2),
        (int) number(o, "connections", 1, 1, 64),
        (int) number(o, "queue-depth", 8, 1, 1024),
        duration(o, "duration", "60s"),
        duration(o, "kill-connection-every", "0s"),
        fraction(o, "corrupt-data-digest"),
        fraction(o, "corrupt-header-digest"),
        (int) size(o, "min-size", "512"),
        (int) size(o, "max-size", "1m"),
        number(o, "seed", System.nanoTime() & 0xffff, Long.MIN_VALUE, Long.MAX_VALUE),
        size(o, "region", "64m"),
        portals,
        duration(o, "liveness-timeout", "5s"),
        sendTargets,
        sessionRecovery,
        o.get("initiator-name"));
    if (s.minSize() > s.maxSize()) throw new IllegalArgumentException("--min-size exceeds --max-size");
    err.println("seed " + s.seed());
    VerifyWorkload.Result r = new VerifyWorkload(s, err).run(vertx);
    out.println(r);
    return r.ok() ? 0 : 1;
  }

  private static int bench(Vertx vertx, IscsiUrl url, Map<String, String> o, PrintStream out) {
    BenchWorkload.Settings s = new BenchWorkload.Settings(url,
        (int) number(o, "erl", 0, 0, 2),
        (int) number(o, "queue-depth", 32, 1, 1024),
        (int) size(o, "size", "4k"),
        (int) number(o, "count", 20_000, 1, 100_000_000),
        o.containsKey("write"),
        number(o, "seed", 1, Long.MIN_VALUE, Long.MAX_VALUE),
        size(o, "region", "64m"),
        o.get("initiator-name"));
    BenchWorkload.Result r = new BenchWorkload(s).run(vertx);
    out.println(r);
    return r.errors() == 0 ? 0 : 1;
  }

  private static int discover(Vertx vertx, IscsiUrl url, Map<String, String> o, PrintStream out) {
    IscsiInitiator ini = IscsiInitiator.create(vertx, options(o).setTransport(url.transport()).setIserStyle(url.iserStyle()));
    try {
      for (DiscoveredTarget t : Await.result(ini.discover(url.host(), url.port()))) {
        if (t.addresses().isEmpty()) out.println(t.name());
        for (String a : t.addresses()) out.println(t.name() + " " + a);
      }
      return 0;
    } finally {
      Await.result(ini.close());
    }
  }

  private static int read(Vertx vertx, IscsiUrl url, Map<String, String> o, PrintStream out) {
    IscsiInitiator ini = IscsiInitiator.create(vertx, options(o).setTransport(url.transport()).setIserStyle(url.iserStyle()));
    try {
      Session s = Await.result(ini.login(url.host(), url.port(), requireTarget(url)));
      try {
        int block = Await.result(s.readCapacity16(url.lun())).blockLength();
        long lba = number(o, "lba", -1, 0, Long.MAX_VALUE);
        int blocks = (int) number(o, "blocks", 1, 1, 1 << 16);
        try (ScsiResponse r = Await.result(s.read(url.lun(), lba, blocks, block))) {
          if (!r.isGood()) {
            out.println(r);
            return 1;
          }
          out.println(ByteBufUtil.prettyHexDump(r.data()));
          return 0;
        }
      } finally {
        Await.result(s.logout());
      }
    } finally {
      Await.result(ini.close());
    }
  }

  private static int write(Vertx vertx, IscsiUrl url, Map<String, String> o, PrintStream out) throws IOException {
    String file = o.get("file");
    if (file == null) throw new IllegalArgumentException("write needs --file");
    byte[] bytes = Files.readAllBytes(Path.of(file));
    IscsiInitiator ini = IscsiInitiator.create(vertx, options(o).setTransport(url.transport()).setIserStyle(url.iserStyle()));
    try {
      Session s = Await.result(ini.login(url.host(), url.port(), requireTarget(url)));
      try {
        int block = Await.result(s.readCapacity16(url.lun())).blockLength();
        long lba = number(o, "lba", -1, 0, Long.MAX_VALUE);
        int padded = Math.max(block, (bytes.length + block - 1) / block * block);
        byte[] data = java.util.Arrays.copyOf(bytes, padded);
        try (ScsiResponse r = Await.result(s.write(url.lun(), lba, Unpooled.wrappedBuffer(data), block))) {
          out.println(r.isGood() ? "wrote " + padded / block + " block(s) at LBA " + lba : r.toString());
          return r.isGood() ? 0 : 1;
        }
      } finally {
        Await.result(s.logout());
      }
    } finally {
      Await.result(ini.close());
    }
  }

  private static String requireTarget(IscsiUrl url) {
    if (url.target() == null) throw new IllegalArgumentException("the URL names no target");
    return url.target();
  }

  private static InitiatorOptions options(Map<String, String> o) {
    InitiatorOptions io = new InitiatorOptions();
    if (o.containsKey("initiator-name")) io.setInitiatorName(o.get("initiator-name"));
    if (o.containsKey("transport")) io.setTransport(o.get("transport"));
    return io;
  }

  static long number(Map<String, String> o, String key, long dflt, long min, long max) {
    String v = o.get(key);
    if (v == null) {
      if (dflt < min) throw new IllegalArgumentException("--" + key + " is required");
      return dflt;
    }
    long n;
    try {
      n = Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + key + ": not a number: " + v);
    }
    if (n < min || n > max) throw new IllegalArgumentException("--" + key + " must be in " + min + ".." + max);
    return n;
  }

  /** 512, 64k, 1m, 1g (powers of 1024). */
  static long size(Map<String, String> o, String key, String dflt) {
    String v = o.getOrDefault(key, dflt).trim().toLowerCase(Locale.ROOT);
    long mult = 1;
    char last = v.isEmpty() ? ' ' : v.charAt(v.length() - 1);
    if (last == 'k') mult = 1L << 10;
    if (last == 'm') mult = 1L << 20;
    if (last == 'g') mult = 1L << 30;
    if (mult > 1) v = v.substring(0, v.length() - 1);
    try {
      long n = Long.parseLong(v) * mult;
      if (n <= 0 || n > Integer.MAX_VALUE) throw new NumberFormatException();
      return n;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + key + ": not a size: " + o.get(key));
    }
  }

  /** 500ms, 2s, 1m, or plain seconds. */
  static Duration duration(Map<String, String> o, String key, String dflt) {
    String v = o.getOrDefault(key, dflt).trim().toLowerCase(Locale.ROOT);
    try {
      if (v.endsWith("ms")) return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
      if (v.endsWith("s")) return Duration.ofMillis((long) (Double.parseDouble(v.substring(0, v.length() - 1)) * 1000));
      if (v.endsWith("m")) return Duration.ofSeconds(Long.parseLong(v.substring(0, v.length() - 1)) * 60);
      return Duration.ofSeconds(Long.parseLong(v));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + key + ": not a duration: " + v);
    }
  }

  /** "on" (the default) or "off". */
  static boolean onOff(Map<String, String> o, String key) {
    String v = o.getOrDefault(key, "on");
    if (!v.equals("on") && !v.equals("off")) throw new IllegalArgumentException("--" + key + ": on or off, not " + v);
    return v.equals("on");
  }

  /** "1%" or "0.01"; 0 when absent. */
  static double fraction(Map<String, String> o, String key) {
    String v = o.get(key);
    if (v == null) return 0;
    try {
      double f = v.endsWith("%") ? Double.parseDouble(v.substring(0, v.length() - 1)) / 100 : Double.parseDouble(v);
      if (f < 0 || f > 1) throw new NumberFormatException();
      return f;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + key + ": not a fraction: " + v);
    }
  }
}
