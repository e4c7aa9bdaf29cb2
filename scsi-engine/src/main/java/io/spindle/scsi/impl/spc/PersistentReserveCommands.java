package io.spindle.scsi.impl.spc;

import static io.spindle.scsi.impl.Cdb.u16;
import static io.spindle.scsi.impl.Cdb.u32;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.spindle.scsi.ScsiResult;
import io.spindle.scsi.ScsiStatus;
import io.spindle.scsi.impl.CheckCondition;
import io.spindle.scsi.impl.LogicalUnitImpl;
import io.spindle.scsi.impl.SenseData;
import io.spindle.scsi.impl.Task;
import io.spindle.scsi.impl.pr.PersistentReservations;
import io.spindle.scsi.impl.pr.PersistentReservations.Outcome;
import io.vertx.core.Future;

/** PERSISTENT RESERVE IN / OUT (SPC-4 §6.15, §6.16). */
public final class PersistentReserveCommands {

  private static final String[] OUT_NAMES = {"REGISTER", "RESERVE", "RELEASE", "CLEAR", "PREEMPT", "PREEMPT AND ABORT",
      "REGISTER AND IGNORE EXISTING KEY"};

  private PersistentReserveCommands() {
  }

  /** Name of a PERSISTENT RESERVE OUT service action (0..6). */
  public static String outName(int serviceAction) {
    return OUT_NAMES[serviceAction];
  }

  public static Future<ScsiResult> in(Task t) {
    byte[] c = t.cdb();
    int sa = c[1] & 0x1F;
    int alloc = u16(c, 7);
    PersistentReservations.Status s = t.lu().persistentReservations().status();
    ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(64);
    switch (sa) {
      case 0:
        b.writeInt(s.generation()).writeInt(8 * s.keys().size());
        for (long k : s.keys()) b.writeLong(k);
        break;
      case 1:
        b.writeInt(s.generation()).writeInt(s.reserved() ? 16 : 0);
        if (s.reserved()) b.writeLong(s.holderKey()).writeInt(0).writeByte(0).writeByte(s.type()).writeShort(0);
        break;
      default:
        // REPORT CAPABILITIES: no PTPL, ATP or SPEC_I_PT; TMV with the six types.
        b.writeShort(8).writeByte(0x00).writeByte(0x80);
        b.writeByte(0x80 | 0x40 | 0x20 | 0x08 | 0x02).writeByte(0x01).writeShort(0);
    }
    b.writerIndex(Math.min(b.writerIndex(), alloc));
    return Future.succeededFuture(t.dataIn(b));
  }

  public static Future<ScsiResult> out(Task t) {
    byte[] c = t.cdb();
    int sa = c[1] & 0x1F;
    int scope = (c[2] & 0xF0) >>> 4;
    int type = c[2] & 0x0F;
    long length = u32(c, 5);
    // SPC-4 §6.16.3: the basic parameter list is 24 bytes (no SPEC_I_PT support).
    if (length != 24) throw CheckCondition.parameterListLengthError();
    if ((sa == 1 || sa == 2 || sa == 4 || sa == 5) && scope != 0) throw CheckCondition.invalidCdbField(2, 7);
    if (!t.command().hasDataOut() || t.edtl() < 24) throw CheckCondition.parameterListLengthError();
    LogicalUnitImpl lu = t.lu();
    return t.command().dataOut(0, 24).map(p -> {
      long key;
      long saKey;
      int flags;
      try {
        int base = p.readerIndex();
        key = p.getLong(base);
        saKey = p.getLong(base + 8);
        flags = p.getUnsignedByte(base + 20);
      } finally {
        p.release();
      }
      // SPEC_I_PT, ALL_TG_PT and APTPL are not supported (REPORT CAPABILITIES says so).
      if ((flags & 0x0D) != 0) throw CheckCondition.invalidParameterField(20, 31 - Integer.numberOfLeadingZeros(flags & 0x0D));
      PersistentReservations pr = lu.persistentReservations();
      String me = LogicalUnitImpl.prNexus(t.nexus());
      Outcome o;
      switch (sa) {
        case 0: o = pr.register(me, key, saKey, false, lu.prNotifier()); break;
        case 1: o = pr.reserve(me, key, type); break;
        case 2: o = pr.release(me, key, type, lu.prNotifier()); break;
        case 3: o = pr.clear(me, key, lu.prNotifier()); break;
        case 4: case 5: o = pr.preempt(me, key, saKey, type, lu.prNotifier()); break;
        case 6: o = pr.register(me, key, saKey, true, lu.prNotifier()); break;
        default: throw CheckCondition.invalidCdbField(1, 4);
      }
      switch (o) {
        case GOOD: return t.good(24);
        case RESERVATION_CONFLICT: return new ScsiResult(ScsiStatus.RESERVATION_CONFLICT, null, null, 0, false);
        case INVALID_FIELD_IN_CDB: throw CheckCondition.invalidCdbField(2, 3);
        case INVALID_FIELD_IN_PARAMETER_LIST: throw CheckCondition.invalidParameterField(8, -1);
        default: throw CheckCondition.of(SenseData.ILLEGAL_REQUEST, 0x26, 0x04); // INVALID RELEASE OF PR
      }
    });
  }
}
