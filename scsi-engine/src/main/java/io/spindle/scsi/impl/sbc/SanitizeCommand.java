package io.spindle.scsi.impl.sbc;

import static io.spindle.scsi.impl.Cdb.u16;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.spindle.scsi.ScsiResult;
import io.spindle.scsi.impl.Cdb;
import io.spindle.scsi.impl.CheckCondition;
import io.spindle.scsi.impl.LogicalUnitImpl;
import io.spindle.scsi.impl.Task;
import io.spindle.scsi.impl.store.BackingStore;
import io.vertx.core.Future;

/**
 * SANITIZE (SBC-4 5.30): OVERWRITE writes the initialization pattern over every block;
 * BLOCK ERASE and CRYPTOGRAPHIC ERASE deallocate every block (there is no key to destroy:
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

  /** Runs the sanitize with the LU marked in progress; {@code pattern} null means deallocate. */
  private static Future<ScsiResult> start(Task t, LogicalUnitImpl lu, boolean immed, byte[] pattern) {
    if (!lu.beginSanitize()) {
      throw CheckCondition.of(io.spindle.scsi.impl.SenseData.NOT_READY, 0x04, 0x1B);
    }
    Future<Void> work = t.blocking(() -> {
      try {
        run(lu, pattern);
      } finally {
        lu.endSanitize();
      }
      return null;
    });
    if (immed) return Future.succeededFuture(t.good(t.edtl()));
    return work.map(v -> t.good(t.edtl()));
  }

  private static void run(LogicalUnitImpl lu, byte[] pattern) throws java.io.IOException {
    BackingStore store = lu.store();
    long size = store.size();
    boolean zeros = pattern == null;
    if (pattern != null) {
      zeros = true;
      for (byte b : pattern) zeros &= b == 0;
    }
    if (zeros && lu.thinProvisioned()) {
      store.unmap(0, size);
    } else {
      byte[] p = pattern == null ? new byte[lu.blockSize()] : pattern;
      int chunk = 1 << 20;
      ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(chunk);
      try {
        while (buf.writerIndex() < chunk) buf.writeBytes(p);
        for (long off = 0; off < size; off += chunk) {
          store.write(buf.slice(0, (int) Math.min(chunk, size - off)), off);
        }
      } finally {
        buf.release();
      }
    }
    store.flush();
  }
}
