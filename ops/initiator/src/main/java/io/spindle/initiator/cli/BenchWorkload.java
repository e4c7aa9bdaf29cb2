package io.spindle.initiator.cli;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.spindle.initiator.Await;
import io.spindle.initiator.Capacity;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.IscsiInitiator;
import io.spindle.initiator.ScsiResponse;
import io.spindle.initiator.ScsiStatusException;
import io.spindle.initiator.Session;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The {@code bench} command: {@code count} reads or writes of {@code size} bytes at random
 * size-aligned offsets of the region, {@code queueDepth} in flight, on one session at the
 * ErrorRecoveryLevel asked for (so an ERL 2 session, whose state a cluster replicates, can be
 * measured; qemu-img and libiscsi log in at ERL 0). Each command is timed from submit to its
 * status. Nothing is checked: this measures, {@code verify} checks.
 */
public final class BenchWorkload {

  /** What to run; {@code size} and {@code regionBytes} in bytes, rounded to blocks. */
  public record Settings(IscsiUrl url, int erl, int queueDepth, int size, int count, boolean write, long seed,
      long regionBytes, String initiatorName) {
  }

  /** The outcome; {@link #toString()} is the one summary line (latencies in microseconds). */
  public record Result(int ios, double seconds, long errors, long p50, long p99, long p999, long mean) {
    public double iops() {
      return seconds > 0 ? ios / seconds : 0;
    }

    @Override
    public String toString() {
      return String.format(java.util.Locale.ROOT, "ios=%d seconds=%.3f iops=%.0f p50=%d p99=%d p999=%d mean=%d errors=%d",
          ios, seconds, iops(), p50, p99, p999, mean, errors);
    }
  }

  private static final int UNIT_ATTENTION = 6;
  private final Settings s;

  public BenchWorkload(Settings settings) {
    this.s = settings;
  }

  public Result run(Vertx vertx) {
    InitiatorOptions o = new InitiatorOptions().setErrorRecoveryLevel(s.erl()).setMaxOutstandingR2t(4)
        .setCommandTimeoutMillis(30_000);
    if (s.initiatorName() != null) o.setInitiatorName(s.initiatorName());
    o.setTransport(s.url().transport());
    o.setIserStyle(s.url().iserStyle());
    IscsiInitiator initiator = IscsiInitiator.create(vertx, o);
    try {
      String target = s.url().target();
      if (target == null) throw new IllegalArgumentException("the URL names no target");
      Session session = Await.result(initiator.login(s.url().host(), s.url().port(), target));
      try {
        return drive(session);
      } finally {
        Await.result(session.logout(), Duration.ofSeconds(30));
      }
    } finally {
      Await.result(initiator.close());
    }
  }

  private Result drive(Session session) {
    int lun = s.url().lun();
    Capacity cap = null;
    for (int i = 0; cap == null; i++) {
      try {
        cap = Await.result(session.readCapacity16(lun));
      } catch (ScsiStatusException e) {
        if (i >= 3 || e.senseKey() != UNIT_ATTENTION) throw e; // SAM-5 §5.14: reported once
      }
    }
    int block = cap.blockLength();
    int blocks = Math.max(1, s.size() / block);
    long slots = Math.max(1, Math.min(cap.lastLba() + 1, s.regionBytes() / block) / blocks);
    Random random = new Random(s.seed());
    long[] latencies = new long[s.count()];
    AtomicInteger done = new AtomicInteger();
    AtomicLong errors = new AtomicLong();
    Semaphore window = new Semaphore(s.queueDepth());
    long start = System.nanoTime();
    try {
      for (int i = 0; i < s.count(); i++) {
        window.acquire();
        long lba = (random.nextLong() & Long.MAX_VALUE) % slots * blocks;
        long t0 = System.nanoTime();
        Future<ScsiResponse> f;
        if (s.write()) {
          ByteBuf data = PooledByteBufAllocator.DEFAULT.buffer(blocks * block);
          data.writeZero(blocks * block);
          f = session.write(lun, lba, data, block);
        } else {
          f = session.read(lun, lba, blocks, block);
        }
        int n = i;
        f.onComplete(ar -> {
          latencies[n] = System.nanoTime() - t0;
          if (ar.failed()) {
            errors.incrementAndGet();
          } else {
            try (ScsiResponse r = ar.result()) {
              if (!r.isGood()) errors.incrementAndGet();
            }
          }
          done.incrementAndGet();
          window.release();
        });
      }
      if (!window.tryAcquire(s.queueDepth(), 120, TimeUnit.SECONDS)) {
        errors.addAndGet(s.count() - done.get());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    long[] sorted = latencies.clone();
    Arrays.sort(sorted);
    long sum = 0;
    for (long l : sorted) sum += l;
    return new Result(s.count(), seconds, errors.get(), micros(sorted, 0.50), micros(sorted, 0.99),
        micros(sorted, 0.999), sorted.length == 0 ? 0 : sum / sorted.length / 1000);
  }

  private static long micros(long[] sorted, double q) {
    if (sorted.length == 0) return 0;
    return sorted[Math.min(sorted.length - 1, (int) Math.floor(q * sorted.length))] / 1000;
  }
}
