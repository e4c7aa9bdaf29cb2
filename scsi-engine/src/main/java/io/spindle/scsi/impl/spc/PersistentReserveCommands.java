package io.spindle.scsi.impl.spc;

import static io.spindle.scsi.impl.Cdb.u16;
import static io.spindle.scsi.impl.Cdb.u32;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.spindle.scsi.ScsiResult;
import io.spindle.scsi.ScsiStatus;
import io.spindle.scsi.impl.Cdb;
import io.spindle.scsi.impl.CheckCondition;
import io.spindle.scsi.impl.LogicalUnitImpl;
import io.spindle.scsi.impl.SenseData;
import io.spindle.scsi.impl.Task;
import io.spindle.scsi.impl.pr.PersistentReservations;
import io.spindle.scsi.impl.pr.PersistentReservations.Outcome;
import io.spindle.scsi.impl.pr.PersistentReservations.Registrant;
import io.vertx.core.Future;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** PERSISTENT RESERVE IN / OUT (SPC-4 §6.15, §6.16). */
public final class PersistentReserveCommands {

  private static final String[] OUT_NAMES = {"REGISTER", "RESERVE", "RELEASE", "CLEAR", "PREEMPT", "PREEMPT AND ABORT",
      "REGISTER AND IGNORE EXISTING KEY", "REGISTER AND MOVE"};
  private static final String[] IN_NAMES = {"READ KEYS", "READ RESERVATION", "REPORT CAPABILITIES",
      "READ FULL STATUS"};

  /** SPC-4 §7.6.2 table 444: protocol identifier of iSCSI in TransportIDs. */
  private static final int PROTOCOL_ISCSI = 5;

  private PersistentReserveCommands() {
  }

  /** Name of a PERSISTENT RESERVE OUT service action (0..7). */
  public static String outName(int serviceAction) {
    return OUT_NAMES[serviceAction];
  }

  /** Name of a PERSISTENT RESERVE IN service action (0..3). */
  public static String inName(int serviceAction) {
    return IN_NAMES[serviceAction];
  }

  public static Future<ScsiResult> in(Task t) {
    return current(t, () -> inNow(t));
  }

  public static Future<ScsiResult> out(Task t) {
    return current(t, () -> outNow(t));
  }

  /**
   * With a reservation store shared between gateways (an RBD image's metadata) the state is read
   * before the command runs, so a PERSISTENT RESERVE command sees what another gateway saved.
   */
  private static Future<ScsiResult> current(Task t, java.util.function.Supplier<Future<ScsiResult>> command) {
    if (!t.lu().reservationStore().shared()) return command.get();
    return t.onContext(t.lu().refreshReservations(t.context())).compose(v -> command.get());
  }

  private static Future<ScsiResult> inNow(Task t) {
    byte[] c = t.cdb();
    int sa = c[1] & 0x1F;
    int alloc = u16(c, 7);
    LogicalUnitImpl lu = t.lu();
    PersistentReservations pr = lu.persistentReservations();
    PersistentReservations.Status s = pr.status();
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
      case 2:
        // REPORT CAPABILITIES (SPC-4 §6.15.4): PTPL_C; TMV with the six types; PTPL_A as set.
        b.writeShort(8).writeByte(0x01).writeByte(0x80 | (pr.aptpl() ? 0x01 : 0));
        b.writeByte(0x80 | 0x40 | 0x20 | 0x08 | 0x02).writeByte(0x01).writeShort(0);
        break;
      default:
        readFullStatus(b, lu, s);
    }
    b.writerIndex(Math.min(b.writerIndex(), alloc));
    return Future.succeededFuture(t.dataIn(b));
  }

  /** READ FULL STATUS (SPC-4 §6.15.5): one descriptor per registered I_T nexus with its TransportID. */
  private static void readFullStatus(ByteBuf b, LogicalUnitImpl lu, PersistentReservations.Status s) {
    b.writeInt(s.generation()).writeInt(0);
    for (Registrant r : lu.persistentReservations().registrants()) {
      int bar = r.nexus().indexOf('|');
      String initiatorPort = bar < 0 ? r.nexus() : r.nexus().substring(0, bar);
      String targetPort = bar < 0 ? "" : r.nexus().substring(bar + 1);
      b.writeLong(r.key()).writeInt(0);
      b.writeByte(r.holder() ? 0x01 : 0x00); // ALL_TG_PT=0, R_HOLDER
      b.writeByte(r.holder() ? s.type() : 0); // SCOPE 0 (LU), TYPE
      b.writeInt(0);
      b.writeShort(lu.relativeTargetPort(targetPort));
      byte[] tid = transportId(initiatorPort);
      b.writeInt(tid.length).writeBytes(tid);
    }
    b.setInt(4, b.writerIndex() - 8);
  }

  /**
   * iSCSI TransportID (SPC-4 §7.6.4.6): format 01b with the initiator port name
   * ({@code name,i,0x<ISID>}) when it has one, else format 00b with the device name; null
   * terminated and padded to a multiple of four.
   */
  public static byte[] transportId(String initiatorPort) {
    byte[] name = initiatorPort.getBytes(StandardCharsets.UTF_8);
    int len = (name.length + 1 + 3) & ~3;
    byte[] tid = new byte[4 + len];
    int format = initiatorPort.contains(",i,0x") ? 0x40 : 0x00;
    tid[0] = (byte) (format | PROTOCOL_ISCSI);
    tid[2] = (byte) (len >>> 8);
    tid[3] = (byte) len;
    System.arraycopy(name, 0, tid, 4, name.length);
    return tid;
  }

  private static Future<ScsiResult> outNow(Task t) {
    byte[] c = t.cdb();
    int sa = c[1] & 0x1F;
    int scope = (c[2] & 0xF0) >>> 4;
    int type = c[2] & 0x0F;
    long length = u32(c, 5);
    // SPC-4 §6.16.3: the basic parameter list is 24 bytes (no SPEC_I_PT support); REGISTER AND
    // MOVE (§6.16.4) adds a TransportID.
    if (sa == 7 ? length < 24 + 4 : length != 24) throw CheckCondition.parameterListLengthError();
    if ((sa == 1 || sa == 2 || sa == 4 || sa == 5 || sa == 7) && scope != 0) throw CheckCondition.invalidCdbField(2, 7);
    if (!t.command().hasDataOut() || t.edtl() < length) throw CheckCondition.parameterListLengthError();
    LogicalUnitImpl lu = t.lu();
    lu.rememberPort(t.nexus());
    int n = (int) length;
    return t.command().dataOut(0, n).map(p -> {
      byte[] param = new byte[n];
      try {
        p.getBytes(p.readerIndex(), param);
      } finally {
        p.release();
      }
      return serviceAction(t, lu, sa, type, param);
    }).compose(r -> r.status() == ScsiStatus.GOOD
        ? t.onContext(lu.persistReservations(t.context())).map(v -> r)
        : Future.succeededFuture(r));
  }

  private static ScsiResult serviceAction(Task t, LogicalUnitImpl lu, int sa, int type, byte[] param) {
    long key = Cdb.u64(param, 0);
    long saKey = Cdb.u64(param, 8);
    PersistentReservations pr = lu.persistentReservations();
    String me = LogicalUnitImpl.prNexus(t.nexus());
    Outcome o;
    if (sa == 7) {
      o = registerAndMove(lu, pr, me, key, saKey, type, param);
    } else {
      int flags = param[20] & 0xFF;
      // SPEC_I_PT and ALL_TG_PT are not supported (REPORT CAPABILITIES says so); APTPL is.
      if ((flags & 0x0C) != 0) throw CheckCondition.invalidParameterField(20, 31 - Integer.numberOfLeadingZeros(flags & 0x0C));
      boolean aptpl = (flags & 0x01) != 0;
      switch (sa) {
        case 0: o = pr.register(me, key, saKey, false, aptpl, lu.prNotifier()); break;
        case 1: o = pr.reserve(me, key, type); break;
        case 2: o = pr.release(me, key, type, lu.prNotifier()); break;
        case 3: o = pr.clear(me, key, lu.prNotifier()); break;
        case 4: case 5: o = pr.preempt(me, key, saKey, type, lu.prNotifier()); break;
        case 6: o = pr.register(me, key, saKey, true, aptpl, lu.prNotifier()); break;
        default: throw CheckCondition.invalidCdbField(1, 4);
      }
    }
    switch (o) {
      case GOOD: return t.good(param.length);
      case RESERVATION_CONFLICT: return new ScsiResult(ScsiStatus.RESERVATION_CONFLICT, null, null, 0, false);
      case INVALID_FIELD_IN_CDB: throw CheckCondition.invalidCdbField(2, 3);
      case INVALID_FIELD_IN_PARAMETER_LIST: throw CheckCondition.invalidParameterField(8, -1);
      default: throw CheckCondition.of(SenseData.ILLEGAL_REQUEST, 0x26, 0x04); // INVALID RELEASE OF PR
    }
  }

  /**
   * REGISTER AND MOVE (SPC-4 §6.16.4): bytes 17 (UNREG, APTPL), 18-19 relative target port
   * identifier, 20-23 TransportID length, then an iSCSI TransportID naming the destination.
   */
  private static Outcome registerAndMove(LogicalUnitImpl lu, PersistentReservations pr, String me, long key,
      long saKey, int type, byte[] param) {
    boolean unreg = (param[17] & 0x02) != 0;
    boolean aptpl = (param[17] & 0x01) != 0;
    int rtpi = Cdb.u16(param, 18);
    long tidLength = Cdb.u32(param, 20);
    if (tidLength < 4 || 24 + tidLength > param.length) throw CheckCondition.invalidParameterField(20, -1);
    if ((param[24] & 0x0F) != PROTOCOL_ISCSI) throw CheckCondition.invalidParameterField(24, 3);
    int nameLength = (int) Math.min(Cdb.u16(param, 26), tidLength - 4);
    int end = 28;
    while (end < 28 + nameLength && param[end] != 0) end++;
    String name = new String(param, 28, end - 28, StandardCharsets.UTF_8);
    String targetPort = lu.targetPort(rtpi);
    if (targetPort == null) throw CheckCondition.invalidParameterField(18, -1);
    String initiatorPort = name;
    if (!name.contains(",i,0x")) {
      // Format 00b names a device: it must have exactly one port on this LU.
      List<String> ports = new ArrayList<>();
      for (String port : lu.knownInitiatorPorts()) {
        if (port.startsWith(name + ",i,0x")) ports.add(port);
      }
      if (ports.size() != 1) throw CheckCondition.invalidParameterField(24, -1);
      initiatorPort = ports.get(0);
    }
    return pr.registerAndMove(me, key, saKey, initiatorPort + "|" + targetPort, type, unreg, aptpl);
  }
}
