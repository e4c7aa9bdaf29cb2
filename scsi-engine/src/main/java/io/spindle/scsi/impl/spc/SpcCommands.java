package io.spindle.scsi.impl.spc;

import static io.spindle.scsi.impl.Cdb.u16;
import static io.spindle.scsi.impl.Cdb.u32;
import static io.spindle.scsi.impl.Cdb.u8;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.spindle.scsi.ScsiResult;
import io.spindle.scsi.ScsiStatus;
import io.spindle.scsi.impl.Cdb;
import io.spindle.scsi.impl.CheckCondition;
import io.spindle.scsi.impl.CommandDescriptor;
import io.spindle.scsi.impl.LogicalUnitImpl;
import io.spindle.scsi.impl.LunAddressing;
import io.spindle.scsi.impl.OpcodeTable;
import io.spindle.scsi.impl.SenseData;
import io.spindle.scsi.impl.Task;
import io.spindle.scsi.impl.sbc.SanitizeCommand;
import io.spindle.scsi.impl.sbc.SbcLimits;
import io.spindle.scsi.impl.xcopy.CopyManagerLimits;
import io.vertx.core.Future;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** SPC-4 primary commands. */
public final class SpcCommands {

  private static final int[] VPD_PAGES = {0x00, 0x80, 0x83, 0x8F, 0xB0, 0xB1, 0xB2};

  private SpcCommands() {
  }

  public static Future<ScsiResult> testUnitReady(Task t) {
    return Future.succeededFuture(t.good(0));
  }

  /** INQUIRY (SPC-4 §6.6). */
  public static Future<ScsiResult> inquiry(Task t) {
    byte[] c = t.cdb();
    Cdb.reserved(c, 1, 0xFE); // CMDDT (obsolete) and reserved bits
    boolean evpd = (c[1] & 1) != 0;
    int page = u8(c, 2);
    int alloc = u16(c, 3);
    if (!evpd && page != 0) throw CheckCondition.invalidCdbField(2, -1);
    LogicalUnitImpl lu = t.lu();
    ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(256);
    if (lu == null) {
      // SPC-4 §6.6.2: peripheral qualifier 011b, device type 1Fh: no logical unit here.
      if (evpd) {
        b.release();
        throw CheckCondition.of(SenseData.ILLEGAL_REQUEST, 0x25, 0x00);
      }
      standard(b, null);
      b.setByte(0, 0x7F);
      b.setByte(1, 0);
    } else if (!evpd) {
      standard(b, lu);
    } else {
      switch (page) {
        case 0x00:
          b.writeByte(0).writeByte(0).writeShort(VPD_PAGES.length);
          for (int p : VPD_PAGES) b.writeByte(p);
          break;
        case 0x80: {
          byte[] s = lu.serial().getBytes(StandardCharsets.US_ASCII);
          b.writeByte(0).writeByte(0x80).writeShort(s.length).writeBytes(s);
          break;
        }
        case 0x83: deviceIdentification(b, t, lu); break;
        case 0x8F: CopyManagerLimits.vpdPage(b, lu.blockSize()); break;
        case 0xB0: blockLimits(b, lu); break;
        case 0xB1:
          // SBC-4 6.6.2: non-rotating medium, form factor not reported; WABEREQ and WACEREQ 01b:
          // after a BLOCK or CRYPTOGRAPHIC ERASE sanitize, reads succeed (deallocated blocks read zeros).
          b.writeByte(0).writeByte(0xB1).writeShort(0x3C).writeShort(1).writeByte(0).writeByte(0x50).writeZero(0x38);
          break;
        case 0xB2:
          // SBC-4 6.6.4: LBPU, LBPWS, LBPWS10 and LBPRZ=001b (deallocated blocks read as zeros)
          // with provisioning type 010b (thin); a fully provisioned LU reports none of them,
          // matching LBPME/LBPRZ in READ CAPACITY(16).
          boolean thin = lu.thinProvisioned();
          b.writeByte(0).writeByte(0xB2).writeShort(4).writeByte(0);
          b.writeByte(thin ? 0xE4 : 0).writeByte(thin ? 0x02 : 0).writeByte(0);
          break;
        default:
          b.release();
          throw CheckCondition.invalidCdbField(2, -1);
      }
    }
    b.writerIndex(Math.min(b.writerIndex(), alloc));
    return Future.succeededFuture(t.dataIn(b));
  }

  private static void standard(ByteBuf b, LogicalUnitImpl lu) {
    b.writeByte(0x00); // connected, direct access block device
    b.writeByte(lu != null && lu.removable() ? 0x80 : 0x00); // RMB (SPC-4 §6.6.2)
    b.writeByte(0x06); // SPC-4
    b.writeByte(0x12); // HISUP, response data format 2
    b.writeByte(0); // additional length, set below
    b.writeByte(lu != null ? 0x08 : 0); // 3PC: EXTENDED COPY and RECEIVE COPY RESULTS (SPC-4 §6.6.2)
    b.writeByte(0);
    b.writeByte(0x02); // CMDQUE
    ascii(b, lu == null ? "SPINDLE" : lu.options().vendor(), 8);
    ascii(b, lu == null ? "Spindle LUN" : lu.options().product(), 16);
    ascii(b, "0001", 4);
    b.writeZero(20 + 2);
    // Version descriptors (SPC-4 table 146): SAM-5, SPC-4, SBC-3.
    b.writeShort(0x00A0).writeShort(0x0460).writeShort(0x04C0);
    b.writeZero(96 - b.writerIndex());
    b.setByte(4, b.writerIndex() - 5);
  }

  private static void ascii(ByteBuf b, String s, int width) {
    byte[] bytes = s.getBytes(StandardCharsets.US_ASCII);
    int n = Math.min(bytes.length, width);
    b.writeBytes(bytes, 0, n);
    for (int i = n; i < width; i++) b.writeByte(' ');
  }

  /** VPD 83h (SPC-4 §7.8.6): NAA, T10 vendor ID, relative target port, target port and device names. */
  private static void deviceIdentification(ByteBuf b, Task t, LogicalUnitImpl lu) {
    b.writeByte(0).writeByte(0x83).writeShort(0);
    // NAA, binary, associated with the logical unit.
    b.writeByte(0x01).writeByte(0x03).writeByte(0).writeByte(16).writeBytes(lu.naa());
    // T10 vendor ID: vendor, then product and serial.
    byte[] id = (pad(lu.options().vendor(), 8) + pad(lu.options().product(), 16) + lu.serial())
        .getBytes(StandardCharsets.US_ASCII);
    b.writeByte(0x02).writeByte(0x01).writeByte(0).writeByte(id.length).writeBytes(id);
    // Relative target port identifier, associated with the target port.
    b.writeByte(0x01).writeByte(0x14).writeByte(0).writeByte(4).writeShort(0)
        .writeShort(t.nexus().relativeTargetPort());
    scsiName(b, 0x18, t.nexus().targetPort());
    scsiName(b, 0x28, t.target().name());
    b.setShort(2, b.writerIndex() - 4);
  }

  /** SCSI name string designator (type 8, UTF-8): null terminated, padded to a multiple of four. */
  private static void scsiName(ByteBuf b, int associationAndType, String name) {
    byte[] n = name.getBytes(StandardCharsets.UTF_8);
    int len = (n.length + 4) & ~3;
    b.writeByte(0x03).writeByte(associationAndType).writeByte(0).writeByte(len).writeBytes(n);
    b.writeZero(len - n.length);
  }

  private static String pad(String s, int w) {
    StringBuilder sb = new StringBuilder(s.length() > w ? s.substring(0, w) : s);
    while (sb.length() < w) sb.append(' ');
    return sb.toString();
  }

  /** SBC-4 6.6.4 Block Limits. */
  private static void blockLimits(ByteBuf b, LogicalUnitImpl lu) {
    int bs = lu.blockSize();
    boolean thin = lu.thinProvisioned();
    int perPhysical = 1 << lu.lbppbExponent();
    b.writeByte(0).writeByte(0xB0).writeShort(0x3C);
    b.writeByte(0); // WSNZ=0
    b.writeByte(SbcLimits.MAX_COMPARE_AND_WRITE_BLOCKS);
    b.writeShort(perPhysical); // optimal transfer length granularity: one physical block
    b.writeInt((int) SbcLimits.maxTransferBlocks(bs));
    b.writeInt((int) SbcLimits.maxTransferBlocks(bs));
    b.writeInt(0); // maximum prefetch length
    b.writeInt(thin ? (int) SbcLimits.MAX_UNMAP_BLOCKS : 0);
    b.writeInt(thin ? SbcLimits.MAX_UNMAP_DESCRIPTORS : 0);
    b.writeInt(thin ? perPhysical : 0); // optimal unmap granularity: holes are punched per page
    b.writeInt(thin ? 0x80000000 : 0); // UGAVALID, alignment 0
    b.writeLong(SbcLimits.MAX_WRITE_SAME_BLOCKS);
    // SBC-4 6.6.4: atomic write limits (WRITE ATOMIC(16)); no alignment, granularity one block.
    b.writeInt((int) SbcLimits.maxAtomicBlocks(bs));
    b.writeInt(1).writeInt(1);
    b.writeInt(0).writeInt(0); // no atomic boundaries
    b.writeZero(0x40 - b.writerIndex());
  }

  /** REPORT LUNS (SPC-4 §6.33). */
  public static Future<ScsiResult> reportLuns(Task t) {
    byte[] c = t.cdb();
    int select = u8(c, 2);
    long alloc = u32(c, 6);
    if (select > 2) throw CheckCondition.invalidCdbField(2, -1);
    if (alloc < 16) throw CheckCondition.invalidCdbField(6, -1);
    List<Integer> luns = select == 1 ? List.of() : t.target().lunNumbers();
    ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(8 + 8 * luns.size());
    b.writeInt(8 * luns.size()).writeInt(0);
    for (int lun : luns) b.writeLong(LunAddressing.encode(lun));
    b.writerIndex((int) Math.min(b.writerIndex(), alloc));
    return Future.succeededFuture(t.dataIn(b));
  }

  /** REQUEST SENSE (SPC-4 §6.39): a pending unit attention, else NO SENSE. */
  public static Future<ScsiResult> requestSense(Task t) {
    byte[] c = t.cdb();
    Cdb.reserved(c, 1, 0xFE);
    boolean desc = (c[1] & 1) != 0;
    int alloc = u8(c, 4);
    ByteBuf b;
    if (t.lu() == null) {
      b = SenseData.build(CheckCondition.of(SenseData.ILLEGAL_REQUEST, 0x25, 0x00), desc);
    } else {
      CheckCondition ua = t.target().takeUnitAttention(t);
      if (ua == null && t.lu().sanitizing()) {
        // SBC-4 4.11.2: SANITIZE IN PROGRESS with the fraction done (SPC-4 §4.5.2.4.4).
        ua = CheckCondition.inProgress(0x04, 0x1B, SanitizeCommand.progress(t.lu()));
      }
      b = ua != null ? SenseData.build(ua, desc) : SenseData.noSense(desc);
    }
    b.writerIndex(Math.min(b.writerIndex(), alloc));
    return Future.succeededFuture(t.dataIn(b));
  }

  /**
   * START STOP UNIT (SBC-4 5.25). With LOEJ a removable medium is loaded (START=1) or ejected
   * (START=0) unless PREVENT ALLOW MEDIUM REMOVAL forbids it; a fixed medium cannot be ejected.
   * Power conditions are accepted and have no effect: there is no spindle to stop.
   */
  public static Future<ScsiResult> startStopUnit(Task t) {
    byte[] c = t.cdb();
    Cdb.reserved(c, 1, 0xFE);
    Cdb.reserved(c, 4, 0x08);
    boolean loej = (c[4] & 0x02) != 0;
    boolean start = (c[4] & 0x01) != 0;
    int powerCondition = (c[4] & 0xF0) >>> 4;
    LogicalUnitImpl lu = t.lu();
    // SBC-4 5.25: LOEJ is ignored unless the POWER CONDITION field is 0h.
    if (powerCondition == 0 && loej) {
      if (!lu.removable()) {
        if (!start) throw CheckCondition.invalidCdbField(4, 1);
      } else if (!lu.loadEject(start)) {
        throw CheckCondition.of(SenseData.ILLEGAL_REQUEST, 0x53, 0x02); // MEDIUM REMOVAL PREVENTED
      }
    }
    return Future.succeededFuture(t.good(0));
  }

  /** PREVENT ALLOW MEDIUM REMOVAL (SBC-4 5.11). */
  public static Future<ScsiResult> preventAllow(Task t) {
    byte[] c = t.cdb();
    int prevent = c[4] & 0x03;
    Cdb.reserved(c, 4, 0xFC);
    t.lu().prevent(t.nexus(), prevent != 0);
    return Future.succeededFuture(t.good(0));
  }

  /** RESERVE(6/10) (SPC-2 §7.21): whole-LU reservations only. */
  public static Future<ScsiResult> reserve(Task t) {
    byte[] c = t.cdb();
    if (t.opcode() == 0x56) Cdb.reserved(c, 1, 0x03); // 3RDPTY, LONGID unsupported
    else Cdb.reserved(c, 1, 0x01);
    // SPC-4 §5.9.3: RESERVE conflicts with an existing persistent reservation.
    if (t.lu().persistentReservations().reserved() || !t.lu().reserve(t.nexus())) {
      return Future.succeededFuture(new ScsiResult(ScsiStatus.RESERVATION_CONFLICT, null, null, 0, false));
    }
    return Future.succeededFuture(t.good(0));
  }

  public static Future<ScsiResult> release(Task t) {
    t.lu().release(t.nexus());
    return Future.succeededFuture(t.good(0));
  }

  /** REPORT SUPPORTED OPERATION CODES (SPC-4 §6.35), from the opcode table. */
  public static Future<ScsiResult> reportSupportedOpcodes(Task t) {
    byte[] c = t.cdb();
    boolean rctd = (c[2] & 0x80) != 0;
    int options = c[2] & 0x07;
    int opcode = u8(c, 3);
    int sa = u16(c, 4);
    long alloc = u32(c, 6);
    ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(4096);
    if (options == 0) {
      b.writeInt(0);
      for (CommandDescriptor d : OpcodeTable.all()) {
        b.writeByte(d.opcode()).writeByte(0).writeShort(Math.max(d.serviceAction(), 0));
        b.writeByte(0).writeByte((d.serviceAction() >= 0 ? 0x01 : 0) | (rctd ? 0x02 : 0));
        b.writeShort(d.cdbLength());
        if (rctd) timeouts(b);
      }
      b.setInt(0, b.writerIndex() - 4);
    } else if (options <= 3) {
      CommandDescriptor d = OpcodeTable.lookup(opcode, sa);
      boolean hasSa = OpcodeTable.hasServiceActions(opcode);
      // SPC-4 §6.35.2: options 1 on a service-action opcode, or 2 on one without, is invalid.
      if ((options == 1 && hasSa) || (options == 2 && !hasSa && OpcodeTable.lookup(opcode, -1) != null)) {
        b.release();
        throw CheckCondition.invalidCdbField(2, 2);
      }
      if (options == 1) d = OpcodeTable.lookup(opcode, -1);
      b.writeByte(0).writeByte((rctd ? 0x80 : 0) | (d == null ? 1 : 3));
      if (d == null) {
        b.writeShort(0);
      } else {
        b.writeShort(d.cdbLength()).writeBytes(d.usage());
        if (rctd) timeouts(b);
      }
    } else {
      b.release();
      throw CheckCondition.invalidCdbField(2, 2);
    }
    b.writerIndex((int) Math.min(b.writerIndex(), alloc));
    return Future.succeededFuture(t.dataIn(b));
  }

  /** Command timeouts descriptor (SPC-4 §6.35.4): no values reported. */
  private static void timeouts(ByteBuf b) {
    b.writeShort(0x0A).writeByte(0).writeByte(0).writeInt(0).writeInt(0);
  }

  /** REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS (SPC-4 §6.36). */
  public static Future<ScsiResult> reportSupportedTmf(Task t) {
    byte[] c = t.cdb();
    long alloc = u32(c, 6);
    boolean repd = (c[2] & 0x80) != 0;
    ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(16);
    // ATS, ATSS, CACAS=0, CTSS, LURS, QTS, TRS; ITNRS.
    b.writeByte(0x80 | 0x40 | 0x10 | 0x08 | 0x04 | 0x02).writeByte(0x01).writeByte(0).writeByte(repd ? 0x0C : 0);
    if (repd) b.writeZero(12);
    b.writerIndex((int) Math.min(b.writerIndex(), alloc));
    return Future.succeededFuture(t.dataIn(b));
  }
}
