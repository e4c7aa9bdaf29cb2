package io.spindle.scsi.impl.sbc;

import static io.spindle.scsi.impl.Cdb.u16;
import static io.spindle.scsi.impl.Cdb.u24;
import static io.spindle.scsi.impl.Cdb.u32;
import static io.spindle.scsi.impl.Cdb.u64;
import static io.spindle.scsi.impl.Cdb.u8;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.spindle.scsi.ScsiResult;
import io.spindle.scsi.impl.Cdb;
import io.spindle.scsi.impl.CheckCondition;
import io.spindle.scsi.impl.LogicalUnitImpl;
import io.spindle.scsi.impl.Task;
import io.spindle.scsi.spi.store.BackingStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

/** SBC-4 block commands: reads, writes, verify, write same, unmap, capacity. */
public final class SbcCommands {

  private SbcCommands() {
  }

  // ---- CDB decoding: (LBA, transfer length) per CDB size ----

  /** READ(6)/WRITE(6): 21-bit LBA, length 0 means 256 blocks (SBC-4 5.13, 5.37). */
  public static Future<ScsiResult> read6(Task t) {
    byte[] c = t.cdb();
    Cdb.reserved(c, 1, 0xE0);
    int n = u8(c, 4);
    return read(t, u24(c, 1) & 0x1FFFFF, n == 0 ? 256 : n);
  }

  public static Future<ScsiResult> read10(Task t) {
    byte[] c = t.cdb();
    checkProtect(c);
    Cdb.reserved(c, 6, 0xE0);
    return read(t, u32(c, 2), u16(c, 7));
  }

  public static Future<ScsiResult> read12(Task t) {
    byte[] c = t.cdb();
    checkProtect(c);
    Cdb.reserved(c, 10, 0xE0);
    return read(t, u32(c, 2), u32(c, 6));
  }

  public static Future<ScsiResult> read16(Task t) {
    byte[] c = t.cdb();
    checkProtect(c);
    Cdb.reserved(c, 14, 0xC0);
    return read(t, u64(c, 2), u32(c, 10));
  }

  public static Future<ScsiResult> write6(Task t) {
    byte[] c = t.cdb();
    Cdb.reserved(c, 1, 0xE0);
    int n = u8(c, 4);
    return write(t, u24(c, 1) & 0x1FFFFF, n == 0 ? 256 : n, false);
  }

  public static Future<ScsiResult> write10(Task t) {
    byte[] c = t.cdb();
    checkProtect(c);
    Cdb.reserved(c, 6, 0xE0);
    return write(t, u32(c, 2), u16(c, 7), fua(c));
  }

  public static Future<ScsiResult> write12(Task t) {
    byte[] c = t.cdb();
    checkProtect(c);
    Cdb.reserved(c, 10, 0xE0);
    return write(t, u32(c, 2), u32(c, 6), fua(c));
  }

  public static Future<ScsiResult> write16(Task t) {
    byte[] c = t.cdb();
    checkProtect(c);
    Cdb.reserved(c, 14, 0xC0);
    return write(t, u64(c, 2), u32(c, 10), fua(c));
  }

  /**
   * WRITE ATOMIC(16) (SBC-4 5.48): all or nothing against other writers. The write holds the
   * LBA range lock and goes to the store in one call, within the Block Limits atomic length.
   */
  public static Future<ScsiResult> writeAtomic16(Task t) {
    byte[] c = t.cdb();
    checkProtect(c);
    Cdb.reserved(c, 1, 0x07);
    Cdb.reserved(c, 14, 0xC0);
    // ATOMIC BOUNDARY: Block Limits reports no boundary support, so it must be zero.
    if (u16(c, 10) != 0) throw CheckCondition.invalidCdbField(10, -1);
    LogicalUnitImpl lu = t.lu();
    long lba = u64(c, 2);
    int blocks = u16(c, 12);
    lu.checkWritable();
    lu.checkRange(lba, blocks);
    if (blocks > SbcLimits.maxAtomicBlocks(lu.blockSize())) throw CheckCondition.invalidCdbField(12, -1);
    return write(t, lba, blocks, fua(c), 12, true);
  }

  /** WRITE AND VERIFY(10/12/16): our stores do not lose written data, so verify is the write itself. */
  public static Future<ScsiResult> writeVerify10(Task t) {
    byte[] c = t.cdb();
    checkProtect(c);
    Cdb.reserved(c, 1, 0x09);
    return write(t, u32(c, 2), u16(c, 7), true);
  }

  public static Future<ScsiResult> writeVerify12(Task t) {
    byte[] c = t.cdb();
    checkProtect(c);
    Cdb.reserved(c, 1, 0x09);
    return write(t, u32(c, 2), u32(c, 6), true);
  }

  public static Future<ScsiResult> writeVerify16(Task t) {
    byte[] c = t.cdb();
    checkProtect(c);
    Cdb.reserved(c, 1, 0x09);
    return write(t, u64(c, 2), u32(c, 10), true);
  }

  public static Future<ScsiResult> verify10(Task t) {
    byte[] c = t.cdb();
    checkProtect(c);
    return verify(t, u32(c, 2), u16(c, 7));
  }

  public static Future<ScsiResult> verify12(Task t) {
    byte[] c = t.cdb();
    checkProtect(c);
    return verify(t, u32(c, 2), u32(c, 6));
  }

  public static Future<ScsiResult> verify16(Task t) {
    byte[] c = t.cdb();
    checkProtect(c);
    return verify(t, u64(c, 2), u32(c, 10));
  }

  /** RDPROTECT/WRPROTECT/VRPROTECT/ORPROTECT: no protection information, so any non-zero value is invalid (SBC-4 4.22). */
  private static void checkProtect(byte[] c) {
    if ((c[1] & 0xE0) != 0) throw CheckCondition.invalidCdbField(1, 7);
  }

  private static boolean fua(byte[] c) {
    return (c[1] & 0x08) != 0;
  }

  private static void checkTransfer(LogicalUnitImpl lu, long lba, long blocks, int lengthByte) {
    lu.checkRange(lba, blocks);
    if (blocks > SbcLimits.maxTransferBlocks(lu.blockSize())) {
      // SBC-4 6.6.4: above MAXIMUM TRANSFER LENGTH → INVALID FIELD IN CDB.
      throw CheckCondition.invalidCdbField(lengthByte, -1);
    }
  }

  /** Where TRANSFER LENGTH sits, by CDB group (SPC-4 §4.3.2). */
  private static int lengthByte(Task t) {
    switch (t.opcode() >>> 5) {
      case 0: return 4;
      case 4: return 10;
      case 5: return 6;
      default: return 7;
    }
  }

  // ---- Execution ----

  static Future<ScsiResult> read(Task t, long lba, long blocks) {
    LogicalUnitImpl lu = t.lu();
    checkTransfer(lu, lba, blocks, lengthByte(t));
    long bytes = blocks * lu.blockSize();
    int edtl = t.edtl();
    int n = t.command().hasDataIn() ? (int) Math.min(bytes, edtl) : 0;
    if (!t.command().hasDataIn() && blocks > 0) {
      // Data-In without the R bit (libiscsi Read10Invalid): nothing can be returned.
      return Future.succeededFuture(ScsiResult.good(null, 0));
    }
    if (n == 0) return Future.succeededFuture(ScsiResult.good(null, (int) (edtl - bytes)));
    ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(n);
    Future<Void> io = io(() -> lu.store().read(t.context(), buf, lba * lu.blockSize(), n));
    // Inline stores (null, memory) and page-cache hits complete at once: no listener.
    if (io.isComplete()) return readDone(io, buf, (int) (edtl - bytes));
    return io.transform(ar -> readDone(ar.succeeded() ? Future.succeededFuture() : Future.failedFuture(ar.cause()),
        buf, (int) (edtl - bytes)));
  }

  private static Future<ScsiResult> readDone(Future<Void> io, ByteBuf buf, int residual) {
    if (io.succeeded()) return Future.succeededFuture(ScsiResult.good(buf, residual));
    buf.release();
    return Future.failedFuture(io.cause());
  }

  /** The store's future, or the exception a store threw instead of failing it. */
  private static <T> Future<T> io(java.util.function.Supplier<Future<T>> call) {
    try {
      return call.get();
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
  }

  /**
   * When {@code io} succeeds, {@code ok}'s result; {@code release} runs after either way. A
   * completed {@code io} (inline stores) is finished here, without a listener.
   */
  private static Future<ScsiResult> finish(Future<Void> io, Runnable release,
      java.util.function.Supplier<ScsiResult> ok) {
    if (io.isComplete()) return done(io.succeeded(), io.cause(), release, ok);
    return io.transform(ar -> done(ar.succeeded(), ar.cause(), release, ok));
  }

  private static Future<ScsiResult> done(boolean succeeded, Throwable cause, Runnable release,
      java.util.function.Supplier<ScsiResult> ok) {
    try {
      return succeeded ? Future.succeededFuture(ok.get()) : Future.failedFuture(cause);
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    } finally {
      release.run();
    }
  }

  private static final Runnable NOTHING = () -> { };

  static Future<ScsiResult> write(Task t, long lba, long blocks, boolean fua) {
    return write(t, lba, blocks, fua, lengthByte(t), false);
  }

  /**
   * Writes the Data-Out to the store. With {@code exclusive} (WRITE ATOMIC) the range is held
   * against every other writer; a plain write only keeps out of an exclusive holder's way, and
   * while there is none it takes no range at all (see {@link io.spindle.scsi.impl.LogicalUnitImpl#tryBeginWrite}).
   */
  static Future<ScsiResult> write(Task t, long lba, long blocks, boolean fua, int lengthByte, boolean exclusive) {
    LogicalUnitImpl lu = t.lu();
    lu.checkWritable();
    checkTransfer(lu, lba, blocks, lengthByte);
    int bs = lu.blockSize();
    long bytes = blocks * bs;
    int edtl = t.edtl();
    int available = t.command().hasDataOut() ? edtl : 0;
    // Only whole blocks the initiator actually sends are written (libiscsi Write10Residuals).
    int n = (int) (Math.min(bytes, available) / bs * bs);
    int residual = (int) (edtl - bytes);
    if (n == 0) return Future.succeededFuture(ScsiResult.good(null, residual));
    long offset = lba * bs;
    boolean force = fua || !lu.modePages().wce();
    if (exclusive) {
      return withRange(t, lba, n / bs, () -> then(t.command().dataOut(0, n),
          data -> store(t, data, offset, force, residual, false)));
    }
    // The range matters only once the data is here: a plain write holds nothing while it waits for
    // Data-Out, and all of it that came as immediate data is written at once.
    return then(t.command().dataOut(0, n), data -> {
      if (!lu.tryBeginWrite()) {
        // An exclusive range (COMPARE AND WRITE, ...) is held or waited for: queue behind it.
        return withRange(t, lba, n / bs, () -> store(t, data, offset, force, residual, false));
      }
      return store(t, data, offset, force, residual, true);
    });
  }

  /** The store part of a write; {@code begun} ends the plain write begun by {@code tryBeginWrite}. */
  private static Future<ScsiResult> store(Task t, ByteBuf data, long offset, boolean force, int residual,
      boolean begun) {
    LogicalUnitImpl lu = t.lu();
    Future<Void> io = io(() -> lu.store().write(t.context(), data, offset, force));
    return finish(io, () -> {
      data.release();
      if (begun) lu.endWrite();
    }, () -> ScsiResult.good(null, residual));
  }

  /**
   * {@code f.compose(next)}; when {@code f} has already succeeded (all the data came as immediate
   * data) {@code next} runs now, without a composition.
   */
  private static <T, U> Future<U> then(Future<T> f, java.util.function.Function<T, Future<U>> next) {
    return f.succeeded() ? next.apply(f.result()) : f.compose(next);
  }

  /** Runs {@code body} while holding the LBA range against other writers. */
  private static Future<ScsiResult> withRange(Task t, long lba, long blocks,
      java.util.function.Supplier<Future<ScsiResult>> body) {
    Future<Runnable> lock = t.lu().lockRange(lba, blocks);
    if (lock.succeeded() && Vertx.currentContext() == t.context()) {
      // Uncontended and already on the command's context: no re-delivery needed.
      Runnable release = lock.result();
      Future<ScsiResult> f;
      try {
        f = body.get();
      } catch (RuntimeException e) {
        release.run();
        throw e;
      }
      if (f.isComplete()) {
        release.run();
        return f;
      }
      return f.andThen(ar -> release.run());
    }
    return t.onContext(lock).compose(release -> {
      Future<ScsiResult> f;
      try {
        f = body.get();
      } catch (RuntimeException e) {
        release.run();
        throw e;
      }
      return f.andThen(ar -> release.run());
    });
  }

  static Future<ScsiResult> verify(Task t, long lba, long blocks) {
    byte[] c = t.cdb();
    LogicalUnitImpl lu = t.lu();
    int bytchk = (c[1] >> 1) & 0x3;
    if (bytchk == 2) throw CheckCondition.invalidCdbField(1, 2);
    lu.checkRange(lba, blocks);
    if (bytchk == 0 || blocks == 0) return Future.succeededFuture(t.good(0));
    if (blocks > SbcLimits.maxTransferBlocks(lu.blockSize())) throw CheckCondition.invalidCdbField(lengthByte(t), -1);
    int bs = lu.blockSize();
    // SBC-4 5.33: BYTCHK 01b sends every block, 11b sends one block compared against each.
    long expectBytes = bytchk == 1 ? blocks * bs : bs;
    int n = (int) Math.min(expectBytes, t.command().hasDataOut() ? t.edtl() : 0) / bs * bs;
    int residual = (int) (t.edtl() - expectBytes);
    if (n == 0) return Future.succeededFuture(ScsiResult.good(null, residual));
    int compareBlocks = (int) (bytchk == 1 ? n / bs : blocks);
    long offset = lba * bs;
    return t.command().dataOut(0, n).compose(data -> {
      ByteBuf disk = PooledByteBufAllocator.DEFAULT.directBuffer(compareBlocks * bs);
      Future<Void> io = io(() -> lu.store().read(t.context(), disk, offset, compareBlocks * bs));
      return finish(io, () -> {
        disk.release();
        data.release();
      }, () -> {
        for (int i = 0; i < compareBlocks; i++) {
          int base = bytchk == 1 ? i * bs : 0;
          compare(disk.slice(i * bs, bs), data, data.readerIndex() + base, bs, (long) i * bs);
        }
        return ScsiResult.good(null, residual);
      });
    });
  }

  /**
   * Compares {@code length} bytes of {@code disk} (from 0) with {@code data} (from
   * {@code dataIndex}); the first difference is a MISCOMPARE reporting {@code at} plus its offset
   * (SBC-4 5.3, 5.33).
   */
  private static void compare(ByteBuf disk, ByteBuf data, int dataIndex, int length, long at) {
    for (int j = 0; j < length; j++) {
      if (disk.getByte(j) != data.getByte(dataIndex + j)) throw CheckCondition.miscompare(at + j);
    }
  }

  /**
   * COMPARE AND WRITE (SBC-4 5.3): compare then write, atomic against other writers here (the
   * range lock) and, for a shared store, in the store itself ({@code compareAndWrite}).
   */
  public static Future<ScsiResult> compareAndWrite(Task t) {
    byte[] c = t.cdb();
    checkProtect(c);
    LogicalUnitImpl lu = t.lu();
    lu.checkWritable();
    long lba = u64(c, 2);
    int blocks = u8(c, 13);
    lu.checkRange(lba, blocks);
    if (blocks > SbcLimits.MAX_COMPARE_AND_WRITE_BLOCKS) throw CheckCondition.invalidCdbField(13, -1);
    if (blocks == 0) {
      // SBC-4 5.3: zero blocks is no transfer; Data-Out sent anyway means the field is not what
      // the initiator meant (a count of 256 wrapped to 0, libiscsi CompareAndWrite.Simple).
      if (t.command().hasDataOut() && t.edtl() > 0) throw CheckCondition.invalidCdbField(13, -1);
      return Future.succeededFuture(t.good(0));
    }
    int bs = lu.blockSize();
    int half = blocks * bs;
    if (!t.command().hasDataOut() || t.edtl() != 2 * half) throw CheckCondition.invalidCdbField(13, -1);
    long offset = lba * bs;
    boolean force = fua(c) || !lu.modePages().wce();
    return withRange(t, lba, blocks, () -> t.command().dataOut(0, 2 * half).compose(data -> {
      int base = data.readerIndex();
      Future<Void> io = io(() -> lu.store().compareAndWrite(t.context(), data.slice(base, half),
          data.slice(base + half, half), offset, force));
      return finish(io, data::release, () -> t.good(2 * half));
    }));
  }

  /** ORWRITE(16) (SBC-4 5.9): new = old OR data-out, under the range lock. */
  public static Future<ScsiResult> orWrite16(Task t) {
    byte[] c = t.cdb();
    checkProtect(c);
    LogicalUnitImpl lu = t.lu();
    lu.checkWritable();
    long lba = u64(c, 2);
    long blocks = u32(c, 10);
    checkTransfer(lu, lba, blocks, 10);
    int bs = lu.blockSize();
    long bytes = blocks * bs;
    int n = (int) (Math.min(bytes, t.command().hasDataOut() ? t.edtl() : 0) / bs * bs);
    int residual = (int) (t.edtl() - bytes);
    if (n == 0) return Future.succeededFuture(ScsiResult.good(null, residual));
    long offset = lba * bs;
    boolean force = fua(c) || !lu.modePages().wce();
    return withRange(t, lba, n / bs, () -> t.command().dataOut(0, n).compose(data -> {
      ByteBuf disk = PooledByteBufAllocator.DEFAULT.directBuffer(n);
      Future<Void> io = io(() -> lu.store().read(t.context(), disk, offset, n)).compose(v -> {
        int base = data.readerIndex();
        for (int j = 0; j < n; j++) disk.setByte(j, disk.getByte(j) | data.getByte(base + j));
        return lu.store().write(t.context(), disk, offset, force);
      });
      return finish(io, () -> {
        disk.release();
        data.release();
      }, () -> ScsiResult.good(null, residual));
    }));
  }
  public static Future<ScsiResult> writeSame10(Task t) {
    byte[] c = t.cdb();
    checkProtect(c);
    Cdb.reserved(c, 1, 0x17);
    Cdb.reserved(c, 6, 0xE0);
    return writeSame(t, u32(c, 2), u16(c, 7), (c[1] & 0x08) != 0, false, 7);
  }

  public static Future<ScsiResult> writeSame16(Task t) {
    byte[] c = t.cdb();
    checkProtect(c);
    Cdb.reserved(c, 1, 0x16);
    Cdb.reserved(c, 14, 0xC0);
    return writeSame(t, u64(c, 2), u32(c, 10), (c[1] & 0x08) != 0, (c[1] & 0x01) != 0, 10);
  }

  /** WRITE SAME (SBC-4 5.49/5.50): one block replicated, or deallocation with UNMAP. */
  static Future<ScsiResult> writeSame(Task t, long lba, long blocks, boolean unmap, boolean ndob, int lengthByte) {
    LogicalUnitImpl lu = t.lu();
    lu.checkWritable();
    // SBC-4 6.6.4: LBPWS/LBPWS10 are zero on a fully provisioned LU, so UNMAP is not supported.
    if ((unmap || ndob) && !lu.thinProvisioned()) throw CheckCondition.invalidCdbField(1, 3);
    // WSNZ=0 (Block Limits): a zero NUMBER OF LOGICAL BLOCKS means up to the last LBA.
    if (blocks == 0) {
      lu.checkRange(lba, 0);
      blocks = lu.blocks() - lba;
    } else {
      lu.checkRange(lba, blocks);
    }
    // SBC-4 5.49: more than MAXIMUM WRITE SAME LENGTH, counting "to the end" too → INVALID FIELD IN CDB.
    if (blocks > SbcLimits.MAX_WRITE_SAME_BLOCKS) throw CheckCondition.invalidCdbField(lengthByte, -1);
    int bs = lu.blockSize();
    long count = blocks;
    long offset = lba * bs;
    boolean force = !lu.modePages().wce();
    if (ndob) {
      return withRange(t, lba, count, () -> finish(discard(t, offset, count * bs, force), NOTHING, () -> t.good(0)));
    }
    if (!t.command().hasDataOut() || t.edtl() != bs) throw CheckCondition.invalidCdbField(lengthByte, -1);
    if (count == 0) return Future.succeededFuture(t.good(bs));
    return withRange(t, lba, count, () -> t.command().dataOut(0, bs).compose(data -> {
      // SBC-3 5.43/5.44: with UNMAP set the blocks are deallocated, whatever the Data-Out
      // block holds; they then read as zeros (LBPRZ), as libiscsi's WRITE SAME tests expect.
      Future<Void> io = unmap ? discard(t, offset, count * bs, force)
          : io(() -> lu.store().writeSame(t.context(), data, offset, count * bs, force));
      return finish(io, data::release, () -> t.good(bs));
    }));
  }

  /** Deallocates the range, then flushes when {@code force} (WCE=0). */
  private static Future<Void> discard(Task t, long offset, long length, boolean force) {
    Future<Void> io = io(() -> t.lu().store().discard(t.context(), offset, length));
    return force ? io.compose(v -> t.lu().store().flush(t.context())) : io;
  }

  /** UNMAP (SBC-4 5.32). */
  public static Future<ScsiResult> unmap(Task t) {
    byte[] c = t.cdb();
    Cdb.reserved(c, 1, 0x01);
    LogicalUnitImpl lu = t.lu();
    // SBC-4 4.7.2: a fully provisioned LU (LBPU=0) does not support UNMAP.
    if (!lu.thinProvisioned()) throw CheckCondition.invalidOpcode();
    lu.checkWritable();
    int length = u16(c, 7);
    if (length == 0) return Future.succeededFuture(t.good(0));
    if (length < 8) throw CheckCondition.parameterListLengthError();
    int n = Math.min(length, t.command().hasDataOut() ? t.edtl() : 0);
    if (n < 8) throw CheckCondition.parameterListLengthError();
    int bs = lu.blockSize();
    return t.command().dataOut(0, n).compose(data -> {
      long[][] ranges;
      try {
        ranges = parseUnmap(data, lu);
      } finally {
        data.release();
      }
      if (ranges.length == 0) return Future.succeededFuture(t.good(length));
      Future<Void> io = Future.succeededFuture();
      for (long[] r : ranges) io = io.compose(v -> lu.store().discard(t.context(), r[0] * bs, r[1] * bs));
      if (!lu.modePages().wce()) io = io.compose(v -> lu.store().flush(t.context()));
      return finish(io, NOTHING, () -> t.good(length));
    });
  }

  private static long[][] parseUnmap(ByteBuf data, LogicalUnitImpl lu) {
    int base = data.readerIndex();
    int avail = data.readableBytes();
    int descLen = data.getUnsignedShort(base + 2);
    int count = Math.min(descLen, avail - 8) / 16;
    if (count > SbcLimits.MAX_UNMAP_DESCRIPTORS) throw CheckCondition.invalidParameterField(2, -1);
    long[][] ranges = new long[count][];
    for (int i = 0; i < count; i++) {
      int o = base + 8 + i * 16;
      long lba = data.getLong(o);
      long blocks = data.getUnsignedInt(o + 8);
      lu.checkRange(lba, blocks);
      if (blocks > SbcLimits.MAX_UNMAP_BLOCKS) throw CheckCondition.invalidParameterField(8 + i * 16 + 8, -1);
      ranges[i] = new long[] {lba, blocks};
    }
    return ranges;
  }

  /** SYNCHRONIZE CACHE(10/16) (SBC-4 5.26/5.27): range checked, then the whole store flushed. */
  public static Future<ScsiResult> synchronizeCache10(Task t) {
    byte[] c = t.cdb();
    Cdb.reserved(c, 1, 0xF9);
    t.lu().checkRange(u32(c, 2), u16(c, 7));
    return flush(t);
  }

  public static Future<ScsiResult> synchronizeCache16(Task t) {
    byte[] c = t.cdb();
    Cdb.reserved(c, 1, 0xF9);
    t.lu().checkRange(u64(c, 2), u32(c, 10));
    return flush(t);
  }

  private static Future<ScsiResult> flush(Task t) {
    return finish(io(() -> t.lu().store().flush(t.context())), NOTHING, () -> t.good(0));
  }

  /** PRE-FETCH(10/16) (SBC-4 5.10): nothing to stage; GOOD once the range is valid. */
  public static Future<ScsiResult> preFetch10(Task t) {
    byte[] c = t.cdb();
    Cdb.reserved(c, 1, 0xFD);
    t.lu().checkRange(u32(c, 2), u16(c, 7));
    return Future.succeededFuture(t.good(0));
  }

  public static Future<ScsiResult> preFetch16(Task t) {
    byte[] c = t.cdb();
    Cdb.reserved(c, 1, 0xFD);
    t.lu().checkRange(u64(c, 2), u32(c, 10));
    return Future.succeededFuture(t.good(0));
  }

  /** READ CAPACITY(10) (SBC-4 5.15). */
  public static Future<ScsiResult> readCapacity10(Task t) {
    byte[] c = t.cdb();
    boolean pmi = (c[8] & 0x01) != 0;
    // SBC-4 5.15.1: with PMI zero the LOGICAL BLOCK ADDRESS field must be zero.
    if (!pmi && u32(c, 2) != 0) throw CheckCondition.invalidCdbField(2, -1);
    LogicalUnitImpl lu = t.lu();
    long last = lu.blocks() - 1;
    ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(8);
    b.writeInt((int) Math.min(last, 0xFFFFFFFFL)).writeInt(lu.blockSize());
    return Future.succeededFuture(t.dataIn(b));
  }

  /** READ CAPACITY(16) (SBC-4 5.16), service action 10h of SERVICE ACTION IN(16). */
  public static Future<ScsiResult> readCapacity16(Task t) {
    byte[] c = t.cdb();
    long alloc = u32(c, 10);
    LogicalUnitImpl lu = t.lu();
    ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(32);
    b.writeLong(lu.blocks() - 1).writeInt(lu.blockSize());
    b.writeByte(0); // no protection
    b.writeByte(lu.lbppbExponent()); // LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT
    // LBPME: thin provisioning; LBPRZ: deallocated blocks read as zeros. Lowest aligned LBA 0.
    b.writeShort(lu.thinProvisioned() ? 0xC000 : 0);
    b.writeZero(16);
    b.writerIndex((int) Math.min(32, alloc));
    return Future.succeededFuture(t.dataIn(b));
  }

  /**
   * GET LBA STATUS (SBC-4 5.7): descriptors for alternating mapped and deallocated runs from
   * the starting LBA, as far as the allocation length allows. A logical block counts as mapped
   * when any of its bytes is allocated in the store.
   */
  public static Future<ScsiResult> getLbaStatus(Task t) {
    byte[] c = t.cdb();
    LogicalUnitImpl lu = t.lu();
    long lba = u64(c, 2);
    long alloc = u32(c, 10);
    // The LBA is unsigned: 2^63 and above are out of range too.
    if (lba < 0 || lba >= lu.blocks()) throw CheckCondition.lbaOutOfRange();
    if (alloc == 0) return Future.succeededFuture(t.good(0));
    int bs = lu.blockSize();
    int max = (int) Math.min(64, Math.max(1, (Math.min(alloc, 8 + 64 * 16) - 8) / 16));
    ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(8 + 16 * max);
    b.writeInt(0).writeInt(0);
    return lbaStatus(t, b, lba, max).transform(ar -> {
      if (ar.failed()) {
        b.release();
        return Future.failedFuture(ar.cause());
      }
      b.setInt(0, b.writerIndex() - 4);
      b.writerIndex((int) Math.min(b.writerIndex(), alloc));
      return Future.succeededFuture(t.dataIn(b));
    });
  }

  /** Appends the descriptor of the run at {@code at}, then the next, up to {@code left} descriptors. */
  private static Future<Void> lbaStatus(Task t, ByteBuf b, long at, int left) {
    LogicalUnitImpl lu = t.lu();
    if (left == 0 || at >= lu.blocks()) return Future.succeededFuture();
    int bs = lu.blockSize();
    Future<BackingStore.Extent> extent = lu.thinProvisioned()
        ? io(() -> lu.store().extent(t.context(), at * bs, bs))
        : Future.succeededFuture(new BackingStore.Extent(true, lu.blocks() * bs));
    return extent.compose(e -> {
      // A mapped run ends at the first block wholly in the hole; a hole ends before the
      // first block that holds any data.
      long end = e.mapped() ? (e.end() + bs - 1) / bs : e.end() / bs;
      end = Math.min(Math.max(end, at + 1), Math.min(lu.blocks(), at + 0xFFFFFFFFL));
      b.writeLong(at).writeInt((int) (end - at)).writeByte(e.mapped() ? 0 : 1).writeZero(3);
      return lbaStatus(t, b, end, left - 1);
    });
  }

  /** READ DEFECT DATA(10/12) (SBC-4 5.17/5.18): an empty list in the requested format. */
  public static Future<ScsiResult> readDefectData10(Task t) {
    byte[] c = t.cdb();
    int alloc = u16(c, 7);
    ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(4);
    b.writeByte(0).writeByte(c[2] & 0x1F).writeShort(0);
    b.writerIndex(Math.min(4, alloc));
    return Future.succeededFuture(t.dataIn(b));
  }

  public static Future<ScsiResult> readDefectData12(Task t) {
    byte[] c = t.cdb();
    long alloc = u32(c, 6);
    ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(8);
    b.writeByte(0).writeByte(c[1] & 0x1F).writeShort(0).writeInt(0);
    b.writerIndex((int) Math.min(8, alloc));
    return Future.succeededFuture(t.dataIn(b));
  }
}
