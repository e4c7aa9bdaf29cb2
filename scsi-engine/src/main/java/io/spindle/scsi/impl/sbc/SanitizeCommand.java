package io.spindle.scsi.impl.sbc;

import static io.spindle.scsi.impl.Cdb.u16;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.spindle.scsi.ScsiResult;
import io.spindle.scsi.impl.Cdb;
import io.spindle.scsi.impl.CheckCondition;
import io.spindle.scsi.impl.LogicalUnitImpl;
import io.spindle.scsi.impl.Task;
import io.spindle.scsi.spi.store.BackingStore;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * SANITIZE (SBC-4 5.30): OVERWRITE writes the initialization pattern over every block;
 * BLOCK ERASE and CRYPTOGRAPHIC ERASE deallocate every block of a thin LU (there is no key to destroy:
 * deallocated blocks read as zeros, so nothing written before is recoverable through the LU).
 * While it runs the LU answers NOT READY / SANITIZE IN PROGRESS (SBC-4 4.11.2); with IMMED
 * the command completes first and the sanitize continues in the background.
 */
public final class SanitizeCommand {

  static final int OVERWRITE = 0x01;
  static final int BLOCK_ERASE = 0x02;
  static final int CRYPTOGRAPHIC_ERASE = 0x03;
  static final int EXIT_FAILURE_MODE = 0x1F;

  private SanitizeCommand() {
  }

  public static String name(int serviceAction) {
    switch (serviceAction) {
      case OVERWRITE: return "OVERWRITE";
      case BLOCK_ERASE: return "BLOCK ERASE";
      case CRYPTOGRAPHIC_ERASE: return "CRYPTOGRAPHIC ERASE";
      default: return "EXIT FAILURE MODE";
    }
  }

  public static Future<ScsiResult> sanitize(Task t) {
    byte[] c = t.cdb();
    Cdb.reserved(c, 1, 0x40);
    for (int i = 2; i <= 6; i++) Cdb.reserved(c, i, 0xFF);
    boolean immed = (c[1] & 0x80) != 0;
    int sa = c[1] & 0x1F;
    int length = u16(c, 7);
    LogicalUnitImpl lu = t.lu();
    lu.checkWritable();
    if (sa == EXIT_FAILURE_MODE) {
      // A sanitize never ends in failure here, so there is no failure mode to leave.
      if (length != 0) throw CheckCondition.invalidCdbField(7, -1);
      return Future.succeededFuture(t.good(0));
    }
    if (sa == BLOCK_ERASE || sa == CRYPTOGRAPHIC_ERASE) {
      // SBC-4 5.30.3/5.30.4: no parameter list.
      if (length != 0) throw CheckCondition.invalidCdbField(7, -1);
      return start(t, lu, immed, null);
    }
    int bs = lu.blockSize();
    // SBC-4 5.30.2.2: four header bytes plus a pattern of 1..block size bytes.
    if (length < 5 || length > bs + 4) throw CheckCondition.invalidCdbField(7, -1);
    if (!t.command().hasDataOut() || t.edtl() < length) throw CheckCondition.parameterListLengthError();
    return t.command().dataOut(0, length).compose(p -> {
      byte[] param = new byte[length];
      try {
        p.getBytes(p.readerIndex(), param);
      } finally {
        p.release();
      }
      int count = param[0] & 0x1F;
      int patternLength = u16(param, 2);
      boolean invert = (param[0] & 0x80) != 0;
      // libiscsi and SBC-4 agree these are CDB-level errors for the device server: the
      // parameter list length must match the pattern it announces.
      if (count == 0 || patternLength == 0 || patternLength > bs || patternLength + 4 != length) {
        throw CheckCondition.invalidCdbField(7, -1);
      }
      byte[] block = new byte[bs];
      for (int i = 0; i < bs; i++) block[i] = param[4 + i % patternLength];
      // INVERT: passes alternate the pattern and its complement; the last pass leaves the
      // pattern itself when the count is odd, its complement when even.
      if (invert && count % 2 == 0) {
        for (int i = 0; i < bs; i++) block[i] = (byte) ~block[i];
      }
      return start(t, lu, immed, block);
    });
  }

  /**
   * OVERWRITE (and erase of a fully provisioned LU) writes at most this many bytes per second,
   * in {@link #CHUNK_BYTES} jobs on the shared storage pool, so a sanitize of one LU does not
   * starve the I/O of the others. A 1 GiB LU takes about eight seconds.
   */
  static final long WRITE_BYTES_PER_SECOND = 128L << 20;
  static final int CHUNK_BYTES = 8 << 20;

  /** Bytes written so far by the running sanitize of each LU (for the progress indication). */
  private static final Map<LogicalUnitImpl, long[]> RUNNING = new ConcurrentHashMap<>();

  /**
   * PROGRESS INDICATION of the sanitize running on {@code lu} (SPC-4 §4.5.2.4.4: the fraction
   * done, in 65536ths), 0 when it only deallocates.
   */
  public static int progress(LogicalUnitImpl lu) {
    long[] p = RUNNING.get(lu);
    if (p == null || p[1] == 0) return 0;
    return (int) Math.min(0xFFFF, p[0] * 65536 / p[1]);
  }

  /**
   * Runs the sanitize with the LU marked in progress; {@code pattern} null means erase. The
   * operation outlives its command: SBC-4 4.11.2 keeps it going across ABORT TASK, resets and
   * I_T nexus loss, so an aborted SANITIZE ends at the next chunk while the writes go on.
   */
  private static Future<ScsiResult> start(Task t, LogicalUnitImpl lu, boolean immed, byte[] pattern) {
    if (!lu.beginSanitize()) {
      throw CheckCondition.of(io.spindle.scsi.impl.SenseData.NOT_READY, 0x04, 0x1B);
    }
    Promise<ScsiResult> reply = Promise.promise();
    Promise<Void> done = Promise.promise();
    done.future().onComplete(ar -> {
      RUNNING.remove(lu);
      lu.endSanitize();
      if (ar.succeeded()) reply.tryComplete(t.good(t.edtl()));
      else reply.tryFail(ar.cause());
    });
    BackingStore store = lu.store();
    long size = store.size();
    if (pattern == null && lu.thinProvisioned()) {
      // BLOCK and CRYPTOGRAPHIC ERASE of a thin LU: deallocated blocks read as zeros.
      store.discard(t.context(), 0, size).compose(v -> store.flush(t.context())).onComplete(done);
    } else {
      byte[] p = pattern == null ? new byte[lu.blockSize()] : pattern;
      ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(CHUNK_BYTES);
      while (buf.writerIndex() < CHUNK_BYTES) buf.writeBytes(p);
      long[] progress = {0, size};
      RUNNING.put(lu, progress);
      done.future().onComplete(ar -> buf.release());
      overwrite(t, store, buf, progress, System.nanoTime(), done, reply);
    }
    if (immed) return Future.succeededFuture(t.good(t.edtl()));
    return reply.future();
  }

  /** Writes the chunk at {@code progress[0]}, then schedules the next one at the bounded rate. */
  private static void overwrite(Task t, BackingStore store, ByteBuf buf, long[] progress, long startNanos,
      Promise<Void> done, Promise<ScsiResult> reply) {
    long off = progress[0];
    long size = progress[1];
    if (off >= size) {
      store.flush(t.context()).onComplete(done);
      return;
    }
    int n = (int) Math.min(CHUNK_BYTES, size - off);
    store.write(t.context(), buf.slice(0, n), off, false).onComplete(ar -> {
      if (ar.failed()) {
        done.tryFail(ar.cause());
        return;
      }
      progress[0] = off + n;
      // The command was aborted (ABORT TASK, reset): answer it; the overwrite continues.
      if (t.aborted()) reply.tryComplete(t.good(t.edtl()));
      long due = startNanos + (off + n) * 1_000_000_000L / WRITE_BYTES_PER_SECOND;
      long delayMs = (due - System.nanoTime()) / 1_000_000;
      if (delayMs > 0) {
        t.context().owner().setTimer(delayMs, id -> overwrite(t, store, buf, progress, startNanos, done, reply));
      } else {
        overwrite(t, store, buf, progress, startNanos, done, reply);
      }
    });
  }
}
