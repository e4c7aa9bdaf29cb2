package io.spindle.scsi.impl.xcopy;

import static io.spindle.scsi.impl.Cdb.u32;
import static io.spindle.scsi.impl.Cdb.u8;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.spindle.scsi.ScsiResult;
import io.spindle.scsi.impl.Cdb;
import io.spindle.scsi.impl.CheckCondition;
import io.spindle.scsi.impl.LogicalUnitImpl;
import io.spindle.scsi.impl.Task;
import io.vertx.core.Future;

/** RECEIVE COPY RESULTS (LID1), SPC-4 §6.18: COPY STATUS and OPERATING PARAMETERS. */
public final class ReceiveCopyResultsCommand {

  static final int COPY_STATUS = 0x00;
  static final int OPERATING_PARAMETERS = 0x03;

  private ReceiveCopyResultsCommand() {
  }

  public static String name(int serviceAction) {
    return serviceAction == COPY_STATUS ? "COPY STATUS" : "OPERATING PARAMETERS";
  }

  public static Future<ScsiResult> receiveCopyResults(Task t) {
    byte[] c = t.cdb();
    Cdb.reserved(c, 1, 0xE0);
    for (int i = 3; i <= 9; i++) Cdb.reserved(c, i, 0xFF);
    Cdb.reserved(c, 14, 0xFF);
    int sa = c[1] & 0x1F;
    int listId = u8(c, 2);
    long alloc = u32(c, 10);
    LogicalUnitImpl lu = t.lu();
    ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(64);
    if (sa == OPERATING_PARAMETERS) {
      CopyManagerLimits.operatingParameters(b, lu.blockSize());
    } else {
      CopyStatusTable.Entry e = CopyStatusTable.of(lu).report(LogicalUnitImpl.prNexus(t.nexus()), listId);
      if (e == null) {
        b.release();
        // SPC-4 §6.18.3: no copy with that list identifier on this I_T nexus.
        throw CheckCondition.invalidCdbField(2, -1);
      }
      long bytes = e.bytesCopied();
      // TRANSFER COUNT in bytes while it fits 32 bits, else in KiB (TRANSFER COUNT UNITS 01h).
      boolean kib = bytes > 0xFFFFFFFFL;
      b.writeInt(8); // AVAILABLE DATA
      b.writeByte(e.status()); // HDD=0: no held data is discarded
      b.writeShort(e.segmentsProcessed());
      b.writeByte(kib ? 0x01 : 0x00);
      b.writeInt((int) (kib ? bytes >>> 10 : bytes));
    }
    b.writerIndex((int) Math.min(b.writerIndex(), alloc));
    return Future.succeededFuture(t.dataIn(b));
  }
}
