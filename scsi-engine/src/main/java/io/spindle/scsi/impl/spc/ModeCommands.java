package io.spindle.scsi.impl.spc;

import static io.spindle.scsi.impl.Cdb.u16;
import static io.spindle.scsi.impl.Cdb.u8;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.spindle.scsi.ScsiResult;
import io.spindle.scsi.impl.Cdb;
import io.spindle.scsi.impl.CheckCondition;
import io.spindle.scsi.impl.LogicalUnitImpl;
import io.spindle.scsi.impl.ModePages;
import io.spindle.scsi.impl.SenseData;
import io.spindle.scsi.impl.Task;
import io.vertx.core.Future;

/** MODE SENSE / MODE SELECT (SPC-4 §6.11-6.14) over the caching, control and IE pages. */
public final class ModeCommands {

  private static final int PC_CURRENT = 0;
  private static final int PC_CHANGEABLE = 1;
  private static final int PC_DEFAULT = 2;
  private static final int PC_SAVED = 3;

  private ModeCommands() {
  }

  public static Future<ScsiResult> modeSense6(Task t) {
    byte[] c = t.cdb();
    Cdb.reserved(c, 1, 0xF7);
    return modeSense(t, false, (c[1] & 0x08) != 0, false, u8(c, 2), u8(c, 3), u8(c, 4));
  }

  public static Future<ScsiResult> modeSense10(Task t) {
    byte[] c = t.cdb();
    Cdb.reserved(c, 1, 0xE7);
    return modeSense(t, true, (c[1] & 0x08) != 0, (c[1] & 0x10) != 0, u8(c, 2), u8(c, 3), u16(c, 7));
  }

  private static Future<ScsiResult> modeSense(Task t, boolean ten, boolean dbd, boolean llbaa, int pcPage,
      int subpage, int alloc) {
    LogicalUnitImpl lu = t.lu();
    int pc = pcPage >>> 6;
    int page = pcPage & 0x3F;
    // SPC-4 §6.11: saved values are not supported.
    if (pc == PC_SAVED) throw CheckCondition.of(SenseData.ILLEGAL_REQUEST, 0x39, 0x00);
    if (subpage != 0 && !(subpage == 0xFF && page == ModePages.ALL_PAGES)) throw CheckCondition.invalidCdbField(3, -1);
    ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(256);
    int header = ten ? 8 : 4;
    b.writeZero(header);
    boolean longLba = ten && llbaa;
    int bdLen = dbd ? 0 : longLba ? 16 : 8;
    if (bdLen == 8) {
      b.writeInt((int) Math.min(lu.blocks(), 0xFFFFFFFFL)).writeByte(0).writeMedium(lu.blockSize());
    } else if (bdLen == 16) {
      b.writeLong(lu.blocks()).writeInt(0).writeInt(lu.blockSize());
    }
    switch (page) {
      case ModePages.CACHING: caching(b, lu, pc); break;
      case ModePages.CONTROL: control(b, lu, pc); break;
      case ModePages.INFORMATIONAL_EXCEPTIONS: informationalExceptions(b, pc); break;
      case ModePages.ALL_PAGES:
        caching(b, lu, pc);
        control(b, lu, pc);
        informationalExceptions(b, pc);
        break;
      default:
        b.release();
        throw CheckCondition.invalidCdbField(2, 5);
    }
    // Device-specific parameter (SBC-4 6.5.2): WP and DPOFUA.
    int dsp = (lu.writeProtected() ? 0x80 : 0) | 0x10;
    int total = b.readableBytes();
    if (ten) {
      b.setShort(0, total - 2);
      b.setByte(3, dsp);
      b.setByte(4, longLba ? 1 : 0);
      b.setShort(6, bdLen);
    } else {
      b.setByte(0, total - 1);
      b.setByte(2, dsp);
      b.setByte(3, bdLen);
    }
    b.writerIndex(Math.min(total, alloc));
    return Future.succeededFuture(t.dataIn(b));
  }

  /** SBC-4 6.5.5 caching page; WCE is changeable. */
  private static void caching(ByteBuf b, LogicalUnitImpl lu, int pc) {
    int start = b.writerIndex();
    b.writeByte(ModePages.CACHING).writeByte(0x12).writeZero(0x12);
    int wce = pc == PC_CHANGEABLE || (pc == PC_CURRENT ? lu.modePages().wce() : true) ? 0x04 : 0;
    b.setByte(start + 2, wce);
  }

  /** SPC-4 §7.5.8 control page; D_SENSE and SWP are changeable. */
  private static void control(ByteBuf b, LogicalUnitImpl lu, int pc) {
    int start = b.writerIndex();
    b.writeByte(ModePages.CONTROL).writeByte(0x0A).writeZero(0x0A);
    if (pc == PC_CHANGEABLE) {
      b.setByte(start + 2, 0x04);
      b.setByte(start + 4, 0x08);
      return;
    }
    boolean current = pc == PC_CURRENT;
    b.setByte(start + 2, current && lu.modePages().dSense() ? 0x04 : 0);
    // QUEUE ALGORITHM MODIFIER 1: unrestricted reordering of SIMPLE tasks.
    b.setByte(start + 3, 0x10);
    b.setByte(start + 4, current && lu.modePages().swp() ? 0x08 : 0);
    b.setShort(start + 8, 0xFFFF); // BUSY TIMEOUT PERIOD: unlimited
  }

  /** SPC-4 §7.5.11 informational exceptions control page: DEXCPT set, nothing reported. */
  private static void informationalExceptions(ByteBuf b, int pc) {
    int start = b.writerIndex();
    b.writeByte(ModePages.INFORMATIONAL_EXCEPTIONS).writeByte(0x0A).writeZero(0x0A);
    if (pc != PC_CHANGEABLE) b.setByte(start + 2, 0x08);
  }

  public static Future<ScsiResult> modeSelect6(Task t) {
    byte[] c = t.cdb();
    Cdb.reserved(c, 1, 0xEE);
    return modeSelect(t, false, c[1], u8(c, 4));
  }

  public static Future<ScsiResult> modeSelect10(Task t) {
    byte[] c = t.cdb();
    Cdb.reserved(c, 1, 0xEE);
    return modeSelect(t, true, c[1], u16(c, 7));
  }

  private static Future<ScsiResult> modeSelect(Task t, boolean ten, byte flags, int length) {
    // SPC-4 §6.9: SP=1 asks to save pages, which this device cannot do.
    if ((flags & 0x01) != 0) throw CheckCondition.invalidCdbField(1, 0);
    if (length == 0) return Future.succeededFuture(t.good(0));
    int header = ten ? 8 : 4;
    if (length < header) throw CheckCondition.parameterListLengthError();
    int n = Math.min(length, t.command().hasDataOut() ? t.edtl() : 0);
    if (n < length) throw CheckCondition.parameterListLengthError();
    LogicalUnitImpl lu = t.lu();
    return t.command().dataOut(0, n).map(data -> {
      try {
        apply(lu, data.slice(), ten, header);
      } finally {
        data.release();
      }
      lu.modeParametersChanged(t.nexus());
      return t.good(length);
    });
  }

  private static void apply(LogicalUnitImpl lu, ByteBuf p, boolean ten, int header) {
    int bdLen = ten ? p.getUnsignedShort(6) : p.getUnsignedByte(3);
    int pos = header;
    if (pos + bdLen > p.readableBytes()) throw CheckCondition.parameterListLengthError();
    if (bdLen != 0) {
      boolean longLba = ten && (p.getByte(4) & 1) != 0;
      int size = longLba ? 16 : 8;
      int bl = longLba ? p.getInt(pos + 12) : p.getUnsignedMedium(pos + 5);
      // The block length cannot change (SBC-4 6.5.2): any other value is invalid.
      if (bdLen % size != 0) throw CheckCondition.invalidParameterField(ten ? 6 : 3, -1);
      if (bl != lu.blockSize()) throw CheckCondition.invalidParameterField(pos + (longLba ? 12 : 5), -1);
    }
    pos += bdLen;
    boolean wce = lu.modePages().wce();
    boolean dSense = lu.modePages().dSense();
    boolean swp = lu.modePages().swp();
    while (pos < p.readableBytes()) {
      if (pos + 2 > p.readableBytes()) throw CheckCondition.parameterListLengthError();
      int code = p.getUnsignedByte(pos);
      if ((code & 0x40) != 0) throw CheckCondition.invalidParameterField(pos, 6); // no subpages
      int len = p.getUnsignedByte(pos + 1);
      if (pos + 2 + len > p.readableBytes()) throw CheckCondition.parameterListLengthError();
      switch (code & 0x3F) {
        case ModePages.CACHING:
          if (len != 0x12) throw CheckCondition.invalidParameterField(pos + 1, -1);
          wce = (p.getByte(pos + 2) & 0x04) != 0;
          break;
        case ModePages.CONTROL:
          if (len != 0x0A) throw CheckCondition.invalidParameterField(pos + 1, -1);
          dSense = (p.getByte(pos + 2) & 0x04) != 0;
          swp = (p.getByte(pos + 4) & 0x08) != 0;
          break;
        case ModePages.INFORMATIONAL_EXCEPTIONS:
          if (len != 0x0A) throw CheckCondition.invalidParameterField(pos + 1, -1);
          break;
        default:
          throw CheckCondition.invalidParameterField(pos, 5);
      }
      pos += 2 + len;
    }
    // All pages validated: apply together (SPC-4 §6.9: no partial changes on error).
    lu.modePages().wce(wce);
    lu.modePages().dSense(dSense);
    lu.modePages().swp(swp);
  }
}
