package io.spindle.cluster;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What another node needs to continue a session at ErrorRecoveryLevel 2 (RFC 7143 §6.2, §7.1.5):
 * its identity (§4.4.3), its negotiated session-wide parameters, its command window, and every
 * task the initiator may still TASK REASSIGN. It is stored under its TSIH, which makes the TSIH
 * cluster-unique while the entry lives.
 *
 * <p>{@code epoch} and {@code owner} fence the writers: the node that serves the session writes
 * only while the stored copy still carries its epoch and name; a takeover raises the epoch, so
 * the old owner's next write fails and tells it the session moved.
 *
 * @param params the negotiated session-wide keys as the iSCSI layer names them
 * @param tasks  the tasks not yet acknowledged by ExpStatSN, in CmdSN order
 */
public record SessionState(int tsih, long epoch, String owner, String initiatorName, long isid, String targetName,
    int portalGroupTag, Map<String, String> params, int expCmdSn, int maxCmdSn, List<TaskRecord> tasks) {

  /** Codec format; a reader refuses any other. */
  private static final int FORMAT = 1;

  public SessionState {
    params = Map.copyOf(params);
    tasks = List.copyOf(tasks);
  }

  /** The same session with a new command window and task list (what each replication batch writes). */
  public SessionState withWindow(int newExpCmdSn, int newMaxCmdSn, List<TaskRecord> newTasks) {
    return new SessionState(tsih, epoch, owner, initiatorName, isid, targetName, portalGroupTag, params, newExpCmdSn,
        newMaxCmdSn, newTasks);
  }

  /** The same session owned by {@code node} in the next epoch (a takeover). */
  public SessionState movedTo(String node) {
    return new SessionState(tsih, epoch + 1, node, initiatorName, isid, targetName, portalGroupTag, params, expCmdSn,
        maxCmdSn, tasks);
  }

  /**
   * One task as TASK REASSIGN needs it (RFC 7143 §6.2.2): the command, how far its data got and,
   * once it completed, the status and sense the initiator may not have seen.
   *
   * @param phase {@link #RECEIVED}, {@link #STARTED} (a non-idempotent command that may have run) or {@link #COMPLETED}
   * @param dataOutReceived Data-Out bytes received so far (writes; informational: the data itself
   *     is never replicated, a survivor asks for all of it again)
   */
  public record TaskRecord(int itt, int cmdSn, long lun, byte[] cdb, int attribute, int expectedDataTransferLength,
      boolean read, boolean write, int dataOutReceived, int phase, int status, byte[] sense, int residual) {

    public static final int RECEIVED = 0;
    public static final int STARTED = 1;
    public static final int COMPLETED = 2;

    public TaskRecord {
      cdb = cdb.clone();
      sense = sense == null ? new byte[0] : sense.clone();
    }

    /** The same task, completed with this status. */
    public TaskRecord completed(int newStatus, byte[] newSense, int newResidual) {
      return new TaskRecord(itt, cmdSn, lun, cdb, attribute, expectedDataTransferLength, read,
          write, dataOutReceived, COMPLETED, newStatus, newSense, newResidual);
    }

    @Override
    public byte[] cdb() {
      return cdb.clone();
    }

    @Override
    public byte[] sense() {
      return sense.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof TaskRecord t && t.itt == itt && t.cmdSn == cmdSn && t.lun == lun
          && java.util.Arrays.equals(t.cdb, cdb) && t.attribute == attribute
          && t.expectedDataTransferLength == expectedDataTransferLength && t.read == read && t.write == write
          && t.dataOutReceived == dataOutReceived && t.phase == phase && t.status == status
          && java.util.Arrays.equals(t.sense, sense) && t.residual == residual;
    }

    @Override
    public int hashCode() {
      return itt * 31 + cmdSn;
    }

    @Override
    public String toString() {
      return "task ITT 0x" + Integer.toHexString(itt) + " CmdSN " + (cmdSn & 0xffffffffL) + " phase " + phase;
    }
  }

  // ------------------------------------------------------------------ codec (what the store holds)

  /** The stored form. The header (format, TSIH, epoch, owner) comes first so a fence reads only that. */
  public byte[] encode() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(128 + 48 * tasks.size());
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeByte(FORMAT);
      out.writeInt(tsih);
      out.writeLong(epoch);
      out.writeUTF(owner);
      out.writeUTF(initiatorName);
      out.writeLong(isid);
      out.writeUTF(targetName == null ? "" : targetName);
      out.writeInt(portalGroupTag);
      out.writeShort(params.size());
      for (var e : new java.util.TreeMap<>(params).entrySet()) {
        out.writeUTF(e.getKey());
        out.writeUTF(e.getValue());
      }
      out.writeInt(expCmdSn);
      out.writeInt(maxCmdSn);
      out.writeInt(tasks.size());
      for (TaskRecord t : tasks) {
        out.writeInt(t.itt);
        out.writeInt(t.cmdSn);
        out.writeLong(t.lun);
        out.writeByte(t.cdb.length);
        out.write(t.cdb);
        out.writeByte(t.attribute);
        out.writeInt(t.expectedDataTransferLength);
        out.writeByte((t.read ? 1 : 0) | (t.write ? 2 : 0));
        out.writeInt(t.dataOutReceived);
        out.writeByte(t.phase);
        out.writeByte(t.status);
        out.writeShort(t.sense.length);
        out.write(t.sense);
        out.writeInt(t.residual);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  public static SessionState decode(byte[] b) {
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(b))) {
      int format = in.readUnsignedByte();
      if (format != FORMAT) throw new IllegalArgumentException("session state format " + format + ", not " + FORMAT);
      int tsih = in.readInt();
      long epoch = in.readLong();
      String owner = in.readUTF();
      String initiator = in.readUTF();
      long isid = in.readLong();
      String target = in.readUTF();
      int tpgt = in.readInt();
      int n = in.readUnsignedShort();
      Map<String, String> params = new LinkedHashMap<>();
      for (int i = 0; i < n; i++) params.put(in.readUTF(), in.readUTF());
      int exp = in.readInt();
      int max = in.readInt();
      int count = in.readInt();
      List<TaskRecord> tasks = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        int itt = in.readInt();
        int cmdSn = in.readInt();
        long lun = in.readLong();
        byte[] cdb = new byte[in.readUnsignedByte()];
        in.readFully(cdb);
        int attr = in.readUnsignedByte();
        int edtl = in.readInt();
        int dir = in.readUnsignedByte();
        int received = in.readInt();
        int phase = in.readUnsignedByte();
        int status = in.readUnsignedByte();
        byte[] sense = new byte[in.readUnsignedShort()];
        in.readFully(sense);
        int residual = in.readInt();
        tasks.add(new TaskRecord(itt, cmdSn, lun, cdb, attr, edtl, (dir & 1) != 0, (dir & 2) != 0, received, phase,
            status, sense, residual));
      }
      return new SessionState(tsih, epoch, owner, initiator, isid, target.isEmpty() ? null : target, tpgt, params,
          exp, max, tasks);
    } catch (IOException e) {
      throw new IllegalArgumentException("truncated session state", e);
    }
  }

  /** The fencing header of a stored form: epoch and owner, without decoding the rest. */
  public static Fence fence(byte[] b) {
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(b))) {
      in.readUnsignedByte();
      in.readInt();
      return new Fence(in.readLong(), in.readUTF());
    } catch (IOException e) {
      throw new IllegalArgumentException("truncated session state", e);
    }
  }

  /** Who may write a stored session: the owner of this epoch. */
  public record Fence(long epoch, String owner) {
    public boolean holds(SessionState s) {
      return epoch == s.epoch() && owner.equals(s.owner());
    }
  }
}
