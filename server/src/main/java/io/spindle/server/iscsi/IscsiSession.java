package io.spindle.server.iscsi;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.collection.IntObjectMap;
import io.spindle.iscsi.negotiation.SessionParameters;
import io.spindle.iscsi.pdu.DataInPdu;
import io.spindle.iscsi.pdu.DataOutPdu;
import io.spindle.iscsi.pdu.InitiatorPdu;
import io.spindle.iscsi.pdu.LogoutRequestPdu;
import io.spindle.iscsi.pdu.LogoutResponsePdu;
import io.spindle.iscsi.pdu.NopOutPdu;
import io.spindle.iscsi.pdu.Opcode;
import io.spindle.iscsi.pdu.Pdu;
import io.spindle.iscsi.pdu.R2tPdu;
import io.spindle.iscsi.pdu.RejectPdu;
import io.spindle.iscsi.pdu.ScsiCommandPdu;
import io.spindle.iscsi.pdu.ScsiResponsePdu;
import io.spindle.iscsi.pdu.SnackRequestPdu;
import io.spindle.iscsi.pdu.TaskMgmtRequestPdu;
import io.spindle.iscsi.pdu.TaskMgmtResponsePdu;
import io.spindle.iscsi.pdu.TextRequestPdu;
import io.spindle.scsi.DataOutFailedException;
import io.spindle.scsi.Nexus;
import io.spindle.scsi.ScsiResult;
import io.spindle.scsi.ScsiStatus;
import io.spindle.scsi.TaskAttribute;
import io.spindle.scsi.TaskManagementFunction;
import io.spindle.scsi.TaskManagementResponse;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One iSCSI session (RFC 7143 §4.4) and its full feature phase: command ordering across
 * connections (§4.2.2.1), SCSI tasks and their data, task management (§11.5), SNACK (§11.16),
 * logout (§11.14) and connection recovery (§6.2, ErrorRecoveryLevel 2). Everything here runs on
 * {@link #context}, the leading connection's event loop; other connections hand their PDUs over
 * and this class hands responses back to them.
 */
final class IscsiSession {

  private static final Logger log = LoggerFactory.getLogger("io.spindle.iscsi");
  private static final int RESERVED = IscsiTask.RESERVED_TAG;

  enum Type { NORMAL, DISCOVERY }

  final IscsiService service;
  final Context context;
  final Type type;
  final String initiatorName;
  final long isid;
  final int tsih;
  final IscsiTarget target;   // null for discovery sessions
  final int portalGroupTag;
  final SessionParameters params;
  final Nexus nexus;          // null for discovery sessions
  final int queueDepth;

  /** RFC 7143 §4.2.2.1: the next CmdSN expected, and the highest MaxCmdSN announced. */
  volatile int expCmdSn;
  private volatile int maxCmdSnAnnounced;
  /** Non-immediate commands that arrived ahead of ExpCmdSN, by CmdSN (from any connection). */
  private final TreeMap<Integer, Object[]> waiting = new TreeMap<>(SerialNumbers::compare);
  /** Tasks by ITT, from arrival until status is sent (ERL 0) or acknowledged (ERL &gt; 0). */
  final IntObjectMap<IscsiTask> tasks = new IntObjectHashMap<>();
  /** Live connections by CID. */
  final Map<Integer, IscsiConnection> connections = new LinkedHashMap<>();
  private long retainTimer;
  private long stallTimer;
  /** Data-Out silence after which an open transfer is asked for again (ERL &gt; 0). */
  static final long DATA_OUT_STALL_NANOS = 2_000_000_000L;
  boolean closed;
  /** LUN numbers whose command meters the session keeps; higher ones are resolved per command. */
  private static final int CACHED_LUNS = 256;
  private static final IscsiObserver.CommandKind[] KINDS = IscsiObserver.CommandKind.values();
  /** Command meters by {@code lun * KINDS.length + kind}, for {@link #meterObserver}. */
  private IscsiObserver.CommandMeter[] meters;
  private IscsiObserver meterObserver;
  /** The session's replicated state in a cluster (null standalone, and for discovery sessions). */
  SessionReplicator replica;

  IscsiSession(IscsiService service, Context context, Type type, String initiatorName, long isid, int tsih,
      IscsiTarget target, int portalGroupTag, SessionParameters params, Nexus nexus, int queueDepth,
      int initialCmdSn) {
    this.service = service;
    this.context = context;
    this.type = type;
    this.initiatorName = initiatorName;
    this.isid = isid;
    this.tsih = tsih;
    this.target = target;
    this.portalGroupTag = portalGroupTag;
    this.params = params;
    this.nexus = nexus;
    this.queueDepth = queueDepth;
    this.expCmdSn = initialCmdSn;
    this.maxCmdSnAnnounced = initialCmdSn - 1;
  }

  /** Starts the ERL &gt; 0 watch for stalled Data-Out transfers; call once, on the session's context. */
  void startRecoveryTimers() {
    if (erl() == 0 || type != Type.NORMAL) return;
    stallTimer = service.vertx.setPeriodic(500, id -> run(() -> {
      long now = System.nanoTime();
      for (IscsiTask t : tasks.values()) {
        if (t.recoverStalledDataOut(now, DATA_OUT_STALL_NANOS)) log.info("{}: Data-Out stalled; recovery R2T sent", t);
      }
    }));
  }

  /** Runs {@code action} on the session's context (now, when already there). */
  void run(Runnable action) {
    if (Vertx.currentContext() == context) {
      action.run();
    } else {
      context.runOnContext(v -> action.run());
    }
  }

  /**
   * MaxCmdSN to announce: the window shrinks while tasks are outstanding (backpressure), but an
   * announced value is never taken back (RFC 7143 §4.2.2.1: the initiator ignores a smaller one).
   */
  int maxCmdSn() {
    int free = Math.max(0, queueDepth - tasks.size());
    int candidate = expCmdSn + free - 1;
    if (SerialNumbers.lessThan(maxCmdSnAnnounced, candidate)) maxCmdSnAnnounced = candidate;
    return maxCmdSnAnnounced;
  }

  /** The last MaxCmdSN announced, readable from any context (NOP-In pings). */
  int announcedMaxCmdSn() {
    return maxCmdSnAnnounced;
  }

  /** The key of the session among the target's sessions: initiator name, ISID, portal group (RFC 7143 §4.4.3). */
  static String key(String initiatorName, long isid, String targetName, int tpgt) {
    return initiatorName + ",i,0x" + String.format("%012x", isid) + "|" + targetName + ",t," + tpgt;
  }

  String key() {
    return key(initiatorName, isid, target == null ? "" : target.name(), portalGroupTag);
  }

  String describe() {
    return "initiator=" + initiatorName + " isid=0x" + String.format("%012x", isid) + " tsih=" + tsih
        + (target == null ? " type=discovery" : " target=" + target.name());
  }

  int erl() {
    return params.errorRecoveryLevel();
  }

  /** The I_T nexus of a session (SAM-5 §4.6.2): initiator port name ",i,0x" ISID, target port name ",t,0x" TPGT. */
  static Nexus nexus(String initiatorName, long isid, String targetName, int tpgt) {
    return new Nexus(initiatorName, initiatorName + ",i,0x" + String.format("%012x", isid), targetName + ",t,0x"
        + String.format("%04x", tpgt), tpgt);
  }

  // ------------------------------------------------------------ connections

  /**
   * Adds a connection that completed login (RFC 7143 §6.3.4). A connection with the CID of a live
   * one reinstates it: the old one is closed first. Fails with a login status when the session
   * is full.
   */
  int attach(IscsiConnection c) {
    if (closed) return LoginException.SESSION_DOES_NOT_EXIST;
    IscsiConnection old = connections.get(c.cid);
    if (old == null && connections.size() >= params.maxConnections()) return LoginException.TOO_MANY_CONNECTIONS;
    if (old != null) {
      // Connection reinstatement (RFC 7143 §6.3.4, §7.1.5): an implicit logout of the old connection.
      log.info("connection reinstatement cid={} {}", c.cid, describe());
      connections.remove(old.cid);
      old.close();
      connectionGone(old, false);
    }
    connections.put(c.cid, c);
    if (retainTimer != 0) {
      service.vertx.cancelTimer(retainTimer);
      retainTimer = 0;
    }
    return 0;
  }

  /** A connection ended: logged out cleanly ({@code loggedOut}) or failed. */
  void connectionClosed(IscsiConnection c, boolean loggedOut) {
    if (closed || connections.get(c.cid) != c) return;
    connections.remove(c.cid);
    connectionGone(c, loggedOut);
  }

  private void connectionGone(IscsiConnection c, boolean loggedOut) {
    List<IscsiTask> allegiant = new ArrayList<>();
    for (IscsiTask t : tasks.values()) {
      if (t.connection == c) allegiant.add(t);
    }
    if (erl() == 2 && !loggedOut) {
      // RFC 7143 §6.2.2: the tasks wait for TASK REASSIGN on another connection, for
      // DefaultTime2Wait + DefaultTime2Retain seconds.
      for (IscsiTask t : allegiant) t.state = IscsiTask.State.WAITING_REASSIGN;
      long wait = 1000L * (params.defaultTime2Wait() + params.defaultTime2Retain());
      if (!allegiant.isEmpty() || connections.isEmpty()) {
        log.info("connection cid={} of {} failed; {} task(s) wait up to {} s for reassignment", c.cid, describe(),
            allegiant.size(), wait / 1000);
        if (retainTimer != 0) service.vertx.cancelTimer(retainTimer);
        retainTimer = service.vertx.setTimer(Math.max(1, wait), id -> run(this::retainExpired));
      }
      return;
    }
    if (!loggedOut || connections.isEmpty()) {
      // ErrorRecoveryLevel < 2: a failed connection fails the session (RFC 7143 §7.1.5, §6.3.6);
      // the last connection's logout ends it.
      end(loggedOut ? "logout" : "connection failure");
      return;
    }
    // One connection of several logged out (reason "close the connection"): its tasks end.
    for (IscsiTask t : allegiant) abortTask(t);
  }

  /** Time2Retain ran out (RFC 7143 §13.16): unreassigned tasks are aborted; an empty session ends. */
  private void retainExpired() {
    retainTimer = 0;
    if (closed) return;
    for (IscsiTask t : new ArrayList<>(tasks.values())) {
      if (t.state == IscsiTask.State.WAITING_REASSIGN) {
        log.info("{} was not reassigned within Time2Retain; aborted", t);
        abortTask(t);
      }
    }
    if (connections.isEmpty()) end("Time2Retain expired with no connection");
  }

  private void abortTask(IscsiTask t) {
    removeTask(t);
    t.finish();
    if (nexus != null) target.scsi().taskManagement(nexus, TaskManagementFunction.ABORT_TASK, t.lun(), t.taskTag());
  }

  /** Ends the session: every connection closes, every task ends, the engine forgets the nexus. */
  void end(String why) {
    if (closed) return;
    closed = true;
    if (retainTimer != 0) service.vertx.cancelTimer(retainTimer);
    if (stallTimer != 0) service.vertx.cancelTimer(stallTimer);
    log.info("session ended ({}) {}", why, describe());
    service.unregister(this);
    if (replica != null) replica.ended();
    for (IscsiConnection c : new ArrayList<>(connections.values())) c.close();
    connections.clear();
    for (IscsiTask t : new ArrayList<>(tasks.values())) t.finish();
    tasks.clear();
    waiting.values().forEach(w -> ((Pdu) w[1]).release());
    waiting.clear();
    if (nexus != null) target.scsi().nexusLost(nexus);
    service.observer().sessionClosed(target == null ? null : target.name(), target == null);
  }

  // ------------------------------------------------------------ receiving (RFC 7143 §4.2.2.1)

  /** A full-feature-phase PDU from {@code from}; the caller releases it after this returns. */
  void received(IscsiConnection from, Pdu pdu) {
    if (closed) return;
    Opcode op = pdu.opcode();
    // Every initiator PDU acknowledges the statuses below its ExpStatSN (RFC 7143 §4.2.2.2).
    if (pdu instanceof InitiatorPdu ip) from.acknowledge(ip.expStatSn());
    if (op == Opcode.NOP_OUT && pdu.itt() == RESERVED) return; // a ping answer: nothing more to do
    if (pdu.dataDigestError()) {
      dataDigestError(from, pdu);
      return;
    }
    if (op == Opcode.DATA_OUT) {
      dataOut(from, (DataOutPdu) pdu, false);
      return;
    }
    if (op == Opcode.SNACK_REQUEST) {
      snack(from, (SnackRequestPdu) pdu);
      return;
    }
    InitiatorPdu req = (InitiatorPdu) pdu;
    if (type == Type.DISCOVERY && op != Opcode.TEXT_REQUEST && op != Opcode.LOGOUT_REQUEST && op != Opcode.NOP_OUT) {
      // RFC 7143 §4.3: a discovery session carries only Text and Logout (and NOP).
      from.reject(pdu, RejectPdu.PROTOCOL_ERROR, op + " on a discovery session");
      return;
    }
    if (req.immediate()) {
      dispatch(from, req);
      return;
    }
    int sn = req.cmdSn();
    if (sn == expCmdSn) {
      expCmdSn++;
      dispatch(from, req);
      drainWaiting();
    } else if (replica != null && replica.retried(sn)) {
      dispatch(from, req); // RFC 7143 §6.2.1: a command the failed node may have had, retried with its CmdSN
    } else if (SerialNumbers.inWindow(sn, expCmdSn + 1, maxCmdSn())) {
      Object[] old = waiting.put(sn, new Object[] {from, req.retain()});
      if (old != null) ((Pdu) old[1]).release(); // a duplicate of a waiting command: the later copy stands
    } else {
      // RFC 7143 §4.2.2.1: non-immediate commands outside the window, and duplicates, are silently ignored.
      log.warn("{} with CmdSN {} outside the window [{}, {}] from peer={} ignored", op, sn & 0xffffffffL,
          expCmdSn & 0xffffffffL, maxCmdSn() & 0xffffffffL, from.peer);
    }
  }

  private void drainWaiting() {
    while (!waiting.isEmpty() && waiting.firstKey() == expCmdSn) {
      Object[] next = waiting.pollFirstEntry().getValue();
      expCmdSn++;
      IscsiConnection c = (IscsiConnection) next[0];
      InitiatorPdu p = (InitiatorPdu) next[1];
      try {
        // A SCSI command whose connection failed meanwhile still runs at ERL 2: it waits for
        // TASK REASSIGN like the connection's other tasks (RFC 7143 §6.2.2).
        if (!c.isClosed() || (erl() == 2 && p.opcode() == Opcode.SCSI_COMMAND)) dispatch(c, p);
      } finally {
        p.release();
      }
    }
  }

  private void dispatch(IscsiConnection from, InitiatorPdu req) {
    switch (req.opcode()) {
      case SCSI_COMMAND: scsiCommand(from, (ScsiCommandPdu) req); break;
      case NOP_OUT: from.nopOut((NopOutPdu) req); break;
      case TASK_MGMT_REQUEST: taskManagement(from, (TaskMgmtRequestPdu) req); break;
      case TEXT_REQUEST: from.text((TextRequestPdu) req); break;
      case LOGOUT_REQUEST: logout(from, (LogoutRequestPdu) req); break;
      default: from.reject(req, RejectPdu.PROTOCOL_ERROR, req.opcode() + " cannot be ordered");
    }
  }

  /**
   * RFC 7143 §7.8: a PDU whose data digest failed is discarded with a Reject. A command so
   * rejected did not consume its CmdSN (the initiator sends it again); lost Data-Out is asked for
   * again with a recovery R2T at ErrorRecoveryLevel &gt; 0.
   */
  private void dataDigestError(IscsiConnection from, Pdu pdu) {
    service.observer().digestError(from.peer, false);
    from.reject(pdu, RejectPdu.DATA_DIGEST_ERROR, "data digest error");
    if (pdu.opcode() == Opcode.DATA_OUT) {
      if (erl() > 0) {
        dataOut(from, (DataOutPdu) pdu, true);
      } else {
        IscsiTask t = tasks.get(pdu.itt());
        if (t != null) {
          t.failDataOut("a Data-Out PDU had a data digest error", DataOutFailedException.PROTOCOL_SERVICE_CRC_ERROR);
        }
      }
    }
  }

  // ------------------------------------------------------------ SCSI commands

  private void scsiCommand(IscsiConnection from, ScsiCommandPdu cmd) {
    IscsiTask existing = tasks.get(cmd.itt());
    if (existing != null && existing.state == IscsiTask.State.STATUS_SENT) {
      // The initiator reuses the ITT: it has the status, acknowledged or not.
      tasks.remove(existing.itt);
      existing.finish();
    } else if (existing != null) {
      from.reject(cmd, RejectPdu.TASK_IN_PROGRESS, "ITT 0x" + Integer.toHexString(cmd.itt()) + " is already in use");
      return;
    }
    int problem = IscsiTask.validateData(cmd, params);
    if (problem != 0) {
      from.reject(cmd, problem, "immediate data of " + cmd.dataSegmentLength() + " bytes not allowed here");
      return;
    }
    TaskAttribute attr = TaskAttribute.fromIscsi(cmd.taskAttribute());
    if (attr == null || (cmd.read() && cmd.write()) || (!cmd.write() && cmd.dataSegmentLength() > 0)) {
      from.reject(cmd, RejectPdu.INVALID_PDU_FIELD, "ATTR " + cmd.taskAttribute() + ", R " + cmd.read() + ", W "
          + cmd.write() + " (bidirectional commands are not supported)");
      return;
    }
    ByteBuf cdb = cmd.cdb();
    boolean ownsCdb = false;
    if (cmd.totalAhsLength() > 0) {
      ByteBuf ext = IscsiTask.extendedCdb(cmd.ahs());
      if (ext == null) {
        from.reject(cmd, RejectPdu.INVALID_PDU_FIELD, "malformed AHS");
        return;
      }
      if (ext.isReadable()) {
        cdb = Unpooled.wrappedBuffer(cdb.retainedSlice(), ext.retainedSlice());
        ownsCdb = true;
      }
    }
    IscsiTask task = new IscsiTask(from, this, cmd, cdb, ownsCdb, attr);
    tasks.put(task.itt, task);
    if (replica == null) {
      target.scsi().execute(task, task::complete);
    } else {
      replica.changed();
      replica.execute(task, () -> target.scsi().execute(task, task::complete));
    }
  }

  private void dataOut(IscsiConnection from, DataOutPdu pdu, boolean digestError) {
    IscsiTask task = tasks.get(pdu.itt());
    if (task == null || task.state != IscsiTask.State.ACTIVE) {
      if (!digestError) {
        from.reject(pdu, RejectPdu.INVALID_PDU_FIELD, "Data-Out for unknown ITT 0x" + Integer.toHexString(pdu.itt()));
      }
      return;
    }
    int problem = task.dataOut(pdu, digestError);
    if (problem != 0) {
      from.reject(pdu, problem, "Data-Out offset " + pdu.bufferOffset() + " DataSN " + pdu.dataSn() + " TTT 0x"
          + Integer.toHexString(pdu.ttt()) + " does not fit " + task);
      task.failDataOut("Data-Out sequence error", DataOutFailedException.DATA_PHASE_ERROR);
    }
  }

  void sendR2t(IscsiTask task, IscsiTask.R2t r2t) {
    R2tPdu r = new R2tPdu();
    r.lun(task.lun()).itt(task.itt);
    r.ttt(r2t.ttt);
    r.r2tSn(r2t.r2tSn).bufferOffset(r2t.offset).desiredDataTransferLength(r2t.length);
    service.observer().r2tSent(target.name());
    task.connection.sendR2t(r);
  }

  /** Sends a task's outcome: Data-In (status collapsed into the last PDU when allowed), then status. */
  void sendResult(IscsiTask task, ScsiResult result) {
    if (task.finished() || closed) {
      result.release();
      return;
    }
    if (result.aborted()) {
      result.release();
      endTask(task, ScsiStatus.TASK_ABORTED);
      return;
    }
    ByteBuf data = result.dataIn();
    if (data != null && (!data.isReadable() || !task.hasDataIn())) {
      data.release();
      data = null;
    }
    // At ErrorRecoveryLevel > 0 the data and status stay until acknowledged (SNACK, reassignment).
    // The status part of the result; a result without Data-In is that already.
    task.result = result.dataIn() == null ? result
        : new ScsiResult(result.status(), result.sense(), null, result.residual(), false);
    task.dataIn = data;
    if (data != null) {
      task.planDataIn(data.readableBytes(), task.connection.params.initiatorMaxRecvDataSegmentLength(),
          params.maxBurstLength(), erl() > 0);
    }
    if (task.state == IscsiTask.State.WAITING_REASSIGN || task.connection.isClosed()) {
      task.state = IscsiTask.State.WAITING_REASSIGN;
      return; // sent after TASK REASSIGN
    }
    if (replica == null) sendDataAndStatus(task, task.resumeDataSn);
    else replica.beforeStatus(task, () -> sendDataAndStatus(task, task.resumeDataSn));
  }

  /** Sends Data-In from DataSN {@code fromDataSn}, then the status, on the task's connection. */
  private void sendDataAndStatus(IscsiTask task, int fromDataSn) {
    ScsiResult r = task.result;
    long residual = task.residual(r);
    boolean good = r.status() == ScsiStatus.GOOD && r.sense() == null;
    IscsiConnection c = task.connection;
    int count = task.dataInPduCount;
    for (int sn = fromDataSn; sn < count; sn++) {
      boolean collapse = sn == count - 1 && good;
      c.sendDataIn(dataInPdu(task, sn, collapse ? r : null), collapse ? task : null);
      if (collapse) {
        statusSent(task);
        return;
      }
    }
    task.dataSnCount = Math.max(task.dataSnCount, count);
    ScsiResponsePdu resp = new ScsiResponsePdu();
    resp.itt(task.itt);
    resp.response(0).status(r.status());
    resp.residualFlags(residual < 0, residual > 0).residualCount((int) Math.abs(residual));
    resp.expDataSn(task.dataSnCount);
    ByteBuf sense = r.sense();
    if (sense != null && sense.isReadable()) {
      // RFC 7143 §11.4.7: SenseLength, then the sense data.
      ByteBuf seg = Unpooled.buffer(2 + sense.readableBytes());
      seg.writeShort(sense.readableBytes()).writeBytes(sense, sense.readerIndex(), sense.readableBytes());
      resp.data(seg);
    }
    c.sendStatus(resp, task);
    statusSent(task);
  }

  /** Data_ACK_Notify from a datamover (iSER): Data-In of task {@code itt} below {@code dataSn} arrived. */
  void dataInAcknowledged(int itt, int dataSn) {
    IscsiTask t = tasks.get(itt);
    if (t != null) acknowledge(t, dataSn);
  }

  /** The initiator holds every Data-In of the task below {@code dataSn} (RFC 7143 §11.16.1). */
  private static void acknowledge(IscsiTask t, int dataSn) {
    t.dataInAcknowledged = Math.max(t.dataInAcknowledged, dataSn);
  }

  /** Builds Data-In PDU {@code sn} of a task; with {@code status}, the final one carrying status. */
  DataInPdu dataInPdu(IscsiTask task, int sn, ScsiResult status) {
    DataInPdu d = new DataInPdu();
    d.lun(task.lun()).itt(task.itt);
    int flags = task.dataInFlags(sn);
    int offset = task.dataInOffset(sn);
    if ((flags & DataInPdu.FLAG_ACK) != 0) {
      // A Data-In asking for DataACK carries a TTT the SNACK will echo (RFC 7143 §11.7.4).
      if (task.ackTag == RESERVED) task.ackTag = task.connection.nextTargetTransferTag();
      d.ttt(task.ackTag);
      d.ackRequested(true);
    } else {
      d.ttt(RESERVED);
    }
    d.dataSn(sn).bufferOffset(offset);
    d.data(task.dataIn.retainedSlice(task.dataIn.readerIndex() + offset, task.dataInLength(sn)));
    d.finalBit((flags & 0x80) != 0);
    if (status != null) {
      long residual = task.residual(status);
      d.status(ScsiStatus.GOOD, residual < 0, residual > 0, (int) Math.abs(residual));
    }
    return d;
  }

  private void statusSent(IscsiTask task) {
    if (erl() > 0) {
      task.state = IscsiTask.State.STATUS_SENT;
      task.connection.awaitAcknowledgement(task);
      commandMeter(task).completed(task.result.status(), task.bytesMoved(), System.nanoTime() - task.arrived);
    } else {
      endTask(task, task.result.status());
    }
  }

  /**
   * The observer's meter for the task's LUN and kind, resolved on the first command of each and
   * kept by LUN number (below {@link #CACHED_LUNS}), so a completion does no lookup. Resolved
   * again when the service's observer is replaced.
   */
  private IscsiObserver.CommandMeter commandMeter(IscsiTask task) {
    IscsiObserver observer = service.observer();
    int lun = task.lunNumber();
    IscsiObserver.CommandKind kind = task.kind();
    if (lun >= CACHED_LUNS) return observer.commandMeter(tsih, target.name(), lun, kind);
    if (observer != meterObserver) {
      meterObserver = observer;
      meters = null;
    }
    int i = lun * KINDS.length + kind.ordinal();
    if (meters == null || i >= meters.length) {
      meters = java.util.Arrays.copyOf(meters == null ? new IscsiObserver.CommandMeter[0] : meters,
          (lun + 1) * KINDS.length);
    }
    IscsiObserver.CommandMeter m = meters[i];
    if (m == null) {
      m = observer.commandMeter(tsih, target.name(), lun, kind);
      meters[i] = m;
    }
    return m;
  }

  /** Removes {@code task} if it is the one registered under its ITT. */
  private boolean removeTask(IscsiTask task) {
    if (tasks.get(task.itt) != task) return false;
    tasks.remove(task.itt);
    if (replica != null) replica.changed();
    return true;
  }

  /** The initiator acknowledged the task's status (ExpStatSN moved past it): it is over. */
  void acknowledged(IscsiTask task) {
    if (removeTask(task)) {
      task.finish();
      task.connection.deallocateTaskResources(task.itt);
    }
  }

  private void endTask(IscsiTask task, int status) {
    if (removeTask(task)) {
      commandMeter(task).completed(status, task.bytesMoved(), System.nanoTime() - task.arrived);
    }
    task.finish();
    task.connection.deallocateTaskResources(task.itt);
  }

  // ------------------------------------------------------------ SNACK (RFC 7143 §11.16), ERL > 0

  private void snack(IscsiConnection from, SnackRequestPdu s) {
    if (erl() == 0) {
      // RFC 7143 §11.16: SNACK needs ErrorRecoveryLevel > 0.
      from.reject(s, RejectPdu.PROTOCOL_ERROR, "SNACK at ErrorRecoveryLevel 0");
      return;
    }
    int beg = s.begRun();
    int run = s.runLength();
    switch (s.type()) {
      case SnackRequestPdu.STATUS:
        if (!from.resendStatus(beg, run)) from.reject(s, RejectPdu.SNACK_REJECT, "no status retained at StatSN " + beg);
        return;
      case SnackRequestPdu.DATA_ACK: {
        IscsiTask t = null;
        for (IscsiTask x : tasks.values()) {
          if (x.ackTag == s.ttt() && x.ackTag != RESERVED) t = x;
        }
        if (t == null) {
          from.reject(s, RejectPdu.INVALID_DATA_ACK, "DataACK for unknown TTT 0x" + Integer.toHexString(s.ttt()));
          return;
        }
        acknowledge(t, beg);
        return;
      }
      case SnackRequestPdu.DATA_R2T:
      case SnackRequestPdu.R_DATA: {
        IscsiTask t = tasks.get(s.itt());
        if (t == null || t.connection != from) {
          from.reject(s, RejectPdu.SNACK_REJECT, "no task 0x" + Integer.toHexString(s.itt()) + " on this connection");
          return;
        }
        if (t.hasDataIn() && t.dataIn != null) {
          int from0 = s.type() == SnackRequestPdu.R_DATA ? t.dataInAcknowledged : beg;
          // RFC 7143 §11.16.3-4: BegRun and RunLength are unsigned; a run past what was sent is refused.
          long end = s.type() == SnackRequestPdu.R_DATA || run == 0 ? t.dataInPduCount : s.runEnd();
          if (from0 < 0 || end > t.dataInPduCount || from0 >= end) {
            from.reject(s, RejectPdu.SNACK_REJECT, "DataSN " + beg + "+" + run + " not sent for " + t);
            return;
          }
          for (int sn = from0; sn < end; sn++) {
            // Retransmitted Data-In keeps its DataSN; a PDU that carried status carries it again.
            boolean collapse = sn == t.dataInPduCount - 1 && t.result.status() == ScsiStatus.GOOD
                && t.result.sense() == null;
            DataInPdu d = dataInPdu(t, sn, collapse ? t.result : null);
            if (collapse) d.statSn(t.statSn);
            from.resendData(d);
          }
          if (s.type() == SnackRequestPdu.R_DATA) from.resendStatus(t.statSn, 1);
        } else if (t.hasDataOut()) {
          long end = run == 0 ? t.r2tsSent.size() : s.runEnd();
          if (beg < 0 || end > t.r2tsSent.size() || beg >= end) {
            from.reject(s, RejectPdu.SNACK_REJECT, "R2TSN " + beg + "+" + run + " not sent for " + t);
            return;
          }
          for (int sn = beg; sn < end; sn++) sendR2t(t, t.r2tsSent.get(sn));
        } else {
          from.reject(s, RejectPdu.SNACK_REJECT, t + " has no data");
        }
        return;
      }
      default:
        from.reject(s, RejectPdu.INVALID_PDU_FIELD, "SNACK type " + s.type());
    }
  }

  // ------------------------------------------------------------ task management (RFC 7143 §11.5)

  private void taskManagement(IscsiConnection from, TaskMgmtRequestPdu req) {
    int function = req.function();
    TaskManagementFunction f;
    switch (function) {
      case TaskMgmtRequestPdu.ABORT_TASK: f = TaskManagementFunction.ABORT_TASK; break;
      case TaskMgmtRequestPdu.ABORT_TASK_SET: f = TaskManagementFunction.ABORT_TASK_SET; break;
      case TaskMgmtRequestPdu.CLEAR_ACA: f = TaskManagementFunction.CLEAR_ACA; break;
      case TaskMgmtRequestPdu.CLEAR_TASK_SET: f = TaskManagementFunction.CLEAR_TASK_SET; break;
      case TaskMgmtRequestPdu.LOGICAL_UNIT_RESET: f = TaskManagementFunction.LOGICAL_UNIT_RESET; break;
      case TaskMgmtRequestPdu.TARGET_WARM_RESET:
      case TaskMgmtRequestPdu.TARGET_COLD_RESET: f = TaskManagementFunction.TARGET_RESET; break;
      case TaskMgmtRequestPdu.TASK_REASSIGN:
        taskReassign(from, req);
        return;
      default:
        from.tmfResponse(req, TaskMgmtResponsePdu.FUNCTION_NOT_SUPPORTED);
        return;
    }
    log.info("task management {} lun=0x{} ref=0x{} peer={} {}", f, Long.toHexString(req.lun()),
        Integer.toHexString(req.referencedTaskTag()), from.peer, describe());
    if (f == TaskManagementFunction.ABORT_TASK) {
      IscsiTask t = tasks.get(req.referencedTaskTag());
      if (t == null || t.state == IscsiTask.State.STATUS_SENT) {
        // RFC 7143 §11.5.1: a task never received but within the window counts as done.
        boolean unreceived = SerialNumbers.lessOrEqual(expCmdSn, req.refCmdSn())
            && SerialNumbers.lessThan(req.refCmdSn(), req.cmdSn());
        from.tmfResponse(req, unreceived || t != null ? TaskMgmtResponsePdu.FUNCTION_COMPLETE
            : TaskMgmtResponsePdu.TASK_DOES_NOT_EXIST);
        return;
      }
    }
    boolean cold = function == TaskMgmtRequestPdu.TARGET_COLD_RESET;
    req.retain();
    target.scsi().taskManagement(nexus, f, req.lun(), req.referencedTaskTag() & 0xffffffffL).onComplete(ar -> {
      try {
        int response = ar.succeeded() ? tmfCode(ar.result()) : TaskMgmtResponsePdu.FUNCTION_REJECTED;
        service.observer().taskManagement(target.name(), f.name(), response);
        Future<Void> sent = from.tmfResponse(req, response);
        // RFC 7143 §11.5.1: after a cold reset the target drops its connections to all initiators.
        if (cold) sent.onComplete(x -> service.endSessionsOf(target, "target cold reset"));
      } finally {
        req.release();
      }
    });
  }

  /** TASK REASSIGN (RFC 7143 §11.5.1, §6.2.2): a waiting task continues on this connection. */
  private void taskReassign(IscsiConnection from, TaskMgmtRequestPdu req) {
    if (erl() < 2) {
      from.tmfResponse(req, TaskMgmtResponsePdu.REASSIGNMENT_NOT_SUPPORTED);
      return;
    }
    IscsiTask t = tasks.get(req.referencedTaskTag());
    if (t == null && replica != null && replica.reassign(from, req)) return;
    if (t == null) {
      // Received but still waiting for an earlier CmdSN: it will run on the new connection.
      for (Object[] w : waiting.values()) {
        if (((Pdu) w[1]).itt() == req.referencedTaskTag() && ((IscsiConnection) w[0]).isClosed()) {
          w[0] = from;
          from.tmfResponse(req, TaskMgmtResponsePdu.FUNCTION_COMPLETE);
          return;
        }
      }
      from.tmfResponse(req, TaskMgmtResponsePdu.TASK_DOES_NOT_EXIST);
      return;
    }
    if (t.state != IscsiTask.State.WAITING_REASSIGN && !t.connection.isClosed()) {
      from.tmfResponse(req, TaskMgmtResponsePdu.TASK_STILL_ALLEGIANT);
      return;
    }
    boolean hadStatus = t.result != null;
    t.reassign(from);
    log.info("{} reassigned to cid={} peer={} (ExpDataSN {})", t, from.cid, from.peer, req.expDataSn());
    from.tmfResponse(req, TaskMgmtResponsePdu.FUNCTION_COMPLETE);
    service.observer().taskManagement(target.name(), "TASK_REASSIGN", TaskMgmtResponsePdu.FUNCTION_COMPLETE);
    if (hadStatus) {
      // Data-In from the first unacknowledged DataSN, then status anew (RFC 7143 §6.2.2).
      int fromSn = Math.min(Math.max(req.expDataSn(), t.dataInAcknowledged), t.dataInPduCount);
      sendDataAndStatus(t, fromSn);
    } else if (t.hasDataOut()) {
      t.sendR2ts(); // recovery R2Ts for every byte not received
    }
  }

  private static int tmfCode(TaskManagementResponse r) {
    switch (r) {
      case FUNCTION_COMPLETE: case FUNCTION_SUCCEEDED: return TaskMgmtResponsePdu.FUNCTION_COMPLETE;
      case TASK_DOES_NOT_EXIST: return TaskMgmtResponsePdu.TASK_DOES_NOT_EXIST;
      case INCORRECT_LOGICAL_UNIT_NUMBER: return TaskMgmtResponsePdu.LUN_DOES_NOT_EXIST;
      default: return TaskMgmtResponsePdu.FUNCTION_REJECTED;
    }
  }

  // ------------------------------------------------------------ logout (RFC 7143 §11.14)

  private void logout(IscsiConnection from, LogoutRequestPdu req) {
    int response;
    IscsiConnection subject = from;
    switch (req.reasonCode()) {
      case LogoutRequestPdu.CLOSE_SESSION:
        response = LogoutResponsePdu.CLOSED;
        break;
      case LogoutRequestPdu.CLOSE_CONNECTION:
        subject = connections.get(req.cid());
        response = subject == null ? LogoutResponsePdu.CID_NOT_FOUND : LogoutResponsePdu.CLOSED;
        break;
      case LogoutRequestPdu.REMOVE_FOR_RECOVERY:
        if (erl() < 2) {
          response = LogoutResponsePdu.RECOVERY_NOT_SUPPORTED;
        } else {
          // The named connection (failed, or about to be) gives its tasks up for reassignment.
          subject = connections.get(req.cid());
          response = LogoutResponsePdu.CLOSED;
          if (subject != null && subject != from) {
            connections.remove(subject.cid);
            subject.close();
            connectionGone(subject, false);
          }
        }
        break;
      default:
        from.reject(req, RejectPdu.INVALID_PDU_FIELD, "logout reason " + req.reasonCode());
        return;
    }
    LogoutResponsePdu r = new LogoutResponsePdu();
    r.itt(req.itt());
    r.response(response);
    if (erl() == 2) r.times(params.defaultTime2Wait(), params.defaultTime2Retain());
    int reason = req.reasonCode();
    boolean closing = response == LogoutResponsePdu.CLOSED
        && (reason == LogoutRequestPdu.CLOSE_SESSION || subject == from);
    if (closing) from.loggingOut();
    log.info("logout reason={} cid={} response={} peer={} {}", reason, req.cid(), response, from.peer, describe());
    Future<Void> sent = from.sendLogoutResponse(r);
    if (response != LogoutResponsePdu.CLOSED) return;
    if (reason == LogoutRequestPdu.CLOSE_SESSION) {
      sent.onComplete(x -> run(() -> end("logout")));
    } else if (reason == LogoutRequestPdu.CLOSE_CONNECTION) {
      IscsiConnection s = subject;
      if (s != from) {
        connections.remove(s.cid);
        s.close();
        connectionGone(s, true);
      } else {
        sent.onComplete(x -> from.close());
      }
    } else if (subject == from) {
      sent.onComplete(x -> from.close());
    }
  }
}
