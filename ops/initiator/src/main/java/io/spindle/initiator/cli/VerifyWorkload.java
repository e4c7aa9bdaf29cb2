package io.spindle.initiator.cli;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.spindle.initiator.Await;
import io.spindle.initiator.Capacity;
import io.spindle.initiator.Connection;
import io.spindle.initiator.FaultInjector;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.IscsiInitiator;
import io.spindle.initiator.ScsiResponse;
import io.spindle.initiator.ScsiStatusException;
import io.spindle.initiator.Session;
import io.spindle.iscsi.pdu.Opcode;
import io.spindle.iscsi.pdu.Pdu;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The {@code verify} workload: random-sized writes of {@link BlockPattern} blocks and reads that
 * check every byte, {@code queueDepth} at a time on extents that never overlap while in flight,
 * with faults injected on the way: lost connections (at a random moment, or right after an R2T
 * arrives) and corrupted header or data digests on SCSI Command and Data-Out PDUs.
 *
 * <p>Counting: a command that completes with GOOD is checked (reads) or recorded (writes); one
 * that fails for good (after whatever recovery the session could do) or ends with another status
 * is an error, and a failed write makes its blocks unknown until written again. Recoveries are
 * the session's (see {@link Session#recoveries()}).
 */
public final class VerifyWorkload {

  /**
   * What to run. Sizes are bytes, rounded to whole blocks; fractions are 0..1. {@code portals}
   * are further portals of the target after the URL's ({@code host:port}); {@code livenessTimeout}
   * zero turns the liveness watch off; {@code portalDiscovery} asks the target for its portals
   * (SendTargets) after login and after each failover; {@code sessionRecovery} false leaves a
   * lost session lost (its commands fail) instead of logging in again — a failover run that must
   * show ERL 2 continuation, not re-login, turns it off; {@code initiatorName} null for the default.
   */
  public record Settings(IscsiUrl url, int erl, int connections, int queueDepth, Duration duration,
      Duration killConnectionEvery, double corruptDataDigest, double corruptHeaderDigest, int minSize, int maxSize,
      long seed, long regionBytes, List<String> portals, Duration livenessTimeout, boolean portalDiscovery,
      boolean sessionRecovery, String initiatorName) {

    public Settings {
      portals = List.copyOf(portals);
    }

    /** One portal, no liveness watch, no portal discovery. */
    public Settings(IscsiUrl url, int erl, int connections, int queueDepth, Duration duration,
        Duration killConnectionEvery, double corruptDataDigest, double corruptHeaderDigest, int minSize, int maxSize,
        long seed, long regionBytes) {
      this(url, erl, connections, queueDepth, duration, killConnectionEvery, corruptDataDigest, corruptHeaderDigest,
          minSize, maxSize, seed, regionBytes, List.of(), Duration.ZERO, false, true, null);
    }

    /** These settings with further portals, a liveness timeout and portal discovery. */
    public Settings withPortals(List<String> more, Duration liveness, boolean discovery) {
      return new Settings(url, erl, connections, queueDepth, duration, killConnectionEvery, corruptDataDigest,
          corruptHeaderDigest, minSize, maxSize, seed, regionBytes, more, liveness, discovery, sessionRecovery,
          initiatorName);
    }

    /** These settings with session recovery on or off. */
    public Settings withSessionRecovery(boolean on) {
      return new Settings(url, erl, connections, queueDepth, duration, killConnectionEvery, corruptDataDigest,
          corruptHeaderDigest, minSize, maxSize, seed, regionBytes, portals, livenessTimeout, portalDiscovery, on,
          initiatorName);
    }
  }

  /**
   * The outcome; {@link #toString()} is the one summary line. {@code failovers} counts the
   * recoveries that moved the session to another portal.
   */
  public record Result(long commands, long mismatches, long recoveries, long errors, long failovers) {

    public Result(long commands, long mismatches, long recoveries, long errors) {
      this(commands, mismatches, recoveries, errors, 0);
    }

    public boolean ok() {
      return mismatches == 0 && errors == 0;
    }

    @Override
    public String toString() {
      return "commands=" + commands + " mismatches=" + mismatches + " recoveries=" + recoveries + " errors=" + errors
          + " failovers=" + failovers;
    }
  }

  private final Settings s;
  private final PrintStream log;
  private final Random random;
  private final AtomicLong commands = new AtomicLong();
  private final AtomicLong mismatches = new AtomicLong();
  private final AtomicLong errors = new AtomicLong();
  private final Object lock = new Object();
  /** Per block: 0 never written, -1 unknown (a write failed), else the generation last written. */
  private long[] generation;
  private final BitSet busy = new BitSet();
  private long nextGeneration = 1;
  private int blockSize;
  private volatile Session session;

  public VerifyWorkload(Settings settings, PrintStream log) {
    this.s = settings;
    this.log = log;
    this.random = new Random(settings.seed());
  }

  public Result run(Vertx vertx) {
    boolean corrupt = s.corruptDataDigest() > 0 || s.corruptHeaderDigest() > 0;
    Random faultRandom = new Random(s.seed() * 31 + 7);
    InitiatorOptions o = new InitiatorOptions()
        .setErrorRecoveryLevel(s.erl())
        .setMaxConnections(s.connections())
        // Corrupting a digest needs the digest in force: insist on CRC32C then.
        .setHeaderDigest(s.corruptHeaderDigest() > 0 ? "CRC32C" : "None,CRC32C")
        .setDataDigest(s.corruptDataDigest() > 0 ? "CRC32C" : "None,CRC32C")
        .setDefaultTime2Wait(0)
        .setMaxOutstandingR2t(4)
        .setSessionRecovery(s.sessionRecovery())
        .setCommandTimeoutMillis(30_000)
        .setLivenessTimeoutMillis(s.livenessTimeout().toMillis())
        .setPortalDiscovery(s.portalDiscovery());
    for (String p : s.portals()) o.addPortal(p);
    if (s.initiatorName() != null) o.setInitiatorName(s.initiatorName());
    o.setTransport(s.url().transport());
    o.setIserStyle(s.url().iserStyle());
    if (corrupt) {
      // iSER carries no digests (RFC 7145 §6.1): there is nothing to corrupt.
      if (o.isIser()) throw new IllegalArgumentException("digest corruption needs the tcp transport");
      o.setFaultInjector(pdu -> fault(pdu, faultRandom));
    }
    IscsiInitiator initiator = IscsiInitiator.create(vertx, o);
    long timerId = -1;
    try {
      String target = s.url().target();
      if (target == null) throw new IllegalArgumentException("the URL names no target");
      session = Await.result(initiator.login(s.url().host(), s.url().port(), target));
      log.println("logged in: TSIH " + session.tsih() + ", " + session.connections().size() + " connection(s), "
          + session.parameters());
      Capacity cap = null;
      for (int i = 0; cap == null; i++) {
        try {
          cap = Await.result(session.readCapacity16(s.url().lun()));
        } catch (ScsiStatusException e) {
          // SAM-5 §5.14: a pending unit attention (reset, changed parameters) is reported once; ask again.
          if (i >= 3 || e.senseKey() != UNIT_ATTENTION) throw e;
        }
      }
      blockSize = cap.blockLength();
      long blocks = Math.min(cap.lastLba() + 1, Math.max(1, s.regionBytes() / blockSize));
      generation = new long[(int) Math.min(Integer.MAX_VALUE - 8, blocks)];
      if (!s.killConnectionEvery().isZero()) timerId = scheduleKill(vertx);
      drive();
    } finally {
      if (timerId >= 0) vertx.cancelTimer(timerId);
      Session ss = session;
      if (ss != null) {
        try {
          Await.result(ss.logout(), Duration.ofSeconds(30));
        } catch (RuntimeException e) {
          ss.close();
        }
      }
      Await.result(initiator.close());
    }
    Session ss = session;
    return new Result(commands.get(), mismatches.get(), ss == null ? 0 : ss.recoveries(), errors.get(),
        ss == null ? 0 : ss.failovers());
  }

  private FaultInjector.Fault fault(Pdu pdu, Random r) {
    if (pdu.opcode() != Opcode.SCSI_COMMAND && pdu.opcode() != Opcode.DATA_OUT) return FaultInjector.Fault.NONE;
    double x = r.nextDouble();
    if (x < s.corruptHeaderDigest()) return FaultInjector.Fault.HEADER_DIGEST;
    if (x < s.corruptHeaderDigest() + s.corruptDataDigest() && pdu.data().isReadable()) {
      return FaultInjector.Fault.DATA_DIGEST;
    }
    return FaultInjector.Fault.NONE;
  }

  /** Kills a random connection at a random moment of each period; half the time right after the next R2T. */
  private long scheduleKill(Vertx vertx) {
    long period = Math.max(10, s.killConnectionEvery().toMillis());
    Random r = new Random(s.seed() * 17 + 3);
    return vertx.setPeriodic(period, id -> vertx.setTimer(1 + r.nextInt((int) Math.min(period, Integer.MAX_VALUE)),
        t -> {
          Session ss = session;
          if (ss == null) return;
          List<Connection> cs = ss.connections();
          if (cs.isEmpty()) return;
          Connection victim = cs.get(r.nextInt(cs.size()));
          if (r.nextBoolean()) {
            victim.close();
            return;
          }
          victim.pduHandler(pdu -> {
            if (pdu.opcode() == Opcode.R2T) victim.close();
          });
          vertx.setTimer(Math.max(1, period / 2), t2 -> victim.close());
        }));
  }

  private void drive() {
    Semaphore slots = new Semaphore(s.queueDepth());
    long end = System.nanoTime() + s.duration().toNanos();
    try {
      while (System.nanoTime() - end < 0) {
        if (!slots.tryAcquire(100, TimeUnit.MILLISECONDS)) continue;
        if (!issue(slots)) {
          slots.release();
          Thread.sleep(1);
        }
      }
      // Let what is in flight finish: each command is bounded by the command timeout and recovery.
      if (!slots.tryAcquire(s.queueDepth(), 120, TimeUnit.SECONDS)) {
        errors.addAndGet(s.queueDepth() - slots.availablePermits());
        log.println("commands still in flight at the end");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Picks a free extent and sends a write or a read of it; false when none was free. */
  private boolean issue(Semaphore slots) {
    int minBlocks = Math.max(1, s.minSize() / blockSize);
    int maxBlocks = Math.max(minBlocks, s.maxSize() / blockSize);
    long lba;
    int n;
    boolean write;
    long gen = 0;
    long[] expected;
    synchronized (lock) {
      n = Math.min(generation.length, minBlocks + random.nextInt(maxBlocks - minBlocks + 1));
      lba = random.nextInt(generation.length - n + 1);
      if (busy.nextSetBit((int) lba) >= 0 && busy.nextSetBit((int) lba) < lba + n) return false;
      busy.set((int) lba, (int) lba + n);
      write = random.nextBoolean();
      if (write) gen = nextGeneration++;
      expected = write ? null : java.util.Arrays.copyOfRange(generation, (int) lba, (int) lba + n);
    }
    int lun = s.url().lun();
    final long first = lba;
    final int count = n;
    final long g = gen;
    Future<ScsiResponse> f = withUnitAttentionRetry(() -> {
      if (!write) return session.read(lun, first, count, blockSize);
      ByteBuf data = PooledByteBufAllocator.DEFAULT.buffer(count * blockSize);
      for (int i = 0; i < count; i++) BlockPattern.write(data, blockSize, first + i, g, s.seed());
      return session.write(lun, first, data, blockSize);
    }, 3);
    f.onComplete(ar -> {
      try {
        commands.incrementAndGet();
        if (ar.failed()) {
          errors.incrementAndGet();
          log.println((write ? "write" : "read") + " of " + count + " blocks at LBA " + first + " failed: "
              + ar.cause().getMessage());
          if (write) mark(first, count, -1);
          return;
        }
        try (ScsiResponse r = ar.result()) {
          if (!r.isGood()) {
            errors.incrementAndGet();
            log.println((write ? "write" : "read") + " at LBA " + first + ": " + r);
            if (write) mark(first, count, -1);
          } else if (write) {
            mark(first, count, g);
          } else {
            verify(r.data(), first, count, expected);
          }
        }
      } finally {
        synchronized (lock) {
          busy.clear((int) first, (int) first + count);
        }
        slots.release();
      }
    });
    return true;
  }

  private static final int UNIT_ATTENTION = 6;

  /**
   * SAM-5 §5.14: a command that reports a unit attention (after a reset or a nexus loss, which
   * session recovery causes) was not executed; it is sent again.
   */
  private static Future<ScsiResponse> withUnitAttentionRetry(Supplier<Future<ScsiResponse>> command, int left) {
    return command.get().compose(r -> {
      if (left > 0 && r.status() == ScsiResponse.CHECK_CONDITION && r.senseKey() == UNIT_ATTENTION) {
        r.close();
        return withUnitAttentionRetry(command, left - 1);
      }
      return Future.succeededFuture(r);
    });
  }

  private void mark(long lba, int n, long gen) {
    synchronized (lock) {
      for (int i = 0; i < n; i++) generation[(int) lba + i] = gen;
    }
  }

  private void verify(ByteBuf data, long lba, int n, long[] expected) {
    if (data.readableBytes() < n * blockSize) {
      mismatches.incrementAndGet();
      log.println("read at LBA " + lba + ": " + data.readableBytes() + " bytes, expected " + n * blockSize);
      return;
    }
    for (int i = 0; i < n; i++) {
      if (expected[i] <= 0) continue; // never written, or left unknown by a failed write
      String problem = BlockPattern.check(data, data.readerIndex() + i * blockSize, blockSize, lba + i, expected[i],
          s.seed());
      if (problem != null) {
        mismatches.incrementAndGet();
        log.println("MISMATCH " + problem);
      }
    }
  }

  static List<String> describe(Settings s) {
    List<String> out = new ArrayList<>();
    out.add("verify " + s.url() + " erl=" + s.erl() + " connections=" + s.connections() + " qd=" + s.queueDepth());
    return out;
  }
}
