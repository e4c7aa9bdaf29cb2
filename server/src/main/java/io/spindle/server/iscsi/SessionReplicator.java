package io.spindle.server.iscsi;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.collection.IntObjectMap;
import io.spindle.cluster.SessionState;
import io.spindle.cluster.SessionState.TaskRecord;
import io.spindle.cluster.StateStore;
import io.spindle.iscsi.negotiation.SessionParameters;
import io.spindle.iscsi.pdu.ScsiCommandPdu;
import io.spindle.iscsi.pdu.TaskMgmtRequestPdu;
import io.spindle.iscsi.pdu.TaskMgmtResponsePdu;
import io.spindle.scsi.ScsiResult;
import io.spindle.scsi.ScsiStatus;
import io.spindle.scsi.TaskAttribute;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replicated state of one session in a cluster (docs/ARCHITECTURE.md "Cluster"): what another
 * node needs to continue it at ErrorRecoveryLevel 2 goes to the {@link StateStore} before it is
 * needed, off the per-command path, and a node that takes a session over continues its tasks from
 * there. Confined to the session's context.
 *
 * <p>Owner side: a command, a completion or an acknowledgement only marks the session changed;
 * within {@link #BATCH_MILLIS} one fenced write carries the whole window (ExpCmdSN, MaxCmdSN and
 * every task not yet acknowledged by ExpStatSN) — one write in flight at a time, so writes never
 * overtake each other. Every {@link #REFRESH_MILLIS} an idle session is written again: that keeps
 * its entry (and TSIH) alive and shows the owner when the session moved, whereupon it drops its
 * copy without sending anything more. A non-idempotent command (COMPARE AND WRITE, PERSISTENT
 * RESERVE OUT, EXTENDED COPY) waits for a write that says it started before it executes, and for
 * one carrying its status before that status is sent, so it never runs twice.
 *
 * <p>Survivor side ({@link #adopt}): the stored session becomes a local one; TASK REASSIGN of a
 * replicated task continues it ({@link #reassign}); a retried command the survivor never heard of
 * is accepted with its original CmdSN ({@link #retried}).
 */
final class SessionReplicator {

  private static final Logger log = LoggerFactory.getLogger("io.spindle.cluster");
  /** Longest a change waits before it is written (the replication batch). */
  static final long BATCH_MILLIS = 5;
  /** An idle session is written this often (TTL refresh, and how soon an old owner notices a move). */
  static final long REFRESH_MILLIS = 1000;
  /** How long an adopted session waits for the login that takes it over. */
  private static final long ADOPTION_MILLIS = 30_000;

  private final IscsiSession session;
  private final StateStore store;
  private final long ttlMillis;
  private SessionState written;
  private boolean owned;
  private boolean gone;
  private boolean dirty;
  private boolean scheduled;
  private boolean inFlight;
  private long lastWrite = System.nanoTime();
  private long refreshTimer;
  private List<Runnable> waiters = new ArrayList<>();
  /** Tasks of the previous owner not yet reassigned here, by ITT (survivor side). */
  private final IntObjectMap<TaskRecord> adopted = new IntObjectHashMap<>();
  /** CmdSNs [retryFrom, retryTo) the previous owner may have received: retried commands get in. */
  private int retryFrom;
  private int retryTo;

  SessionReplicator(IscsiSession session, StateStore store, SessionState state, boolean owned) {
    this.session = session;
    this.store = store;
    this.written = state;
    this.owned = owned;
    SessionParameters p = session.params;
    this.ttlMillis = ttlMillis(p);
    if (owned) startRefresh();
  }

  /**
   * Time-to-live of a session's entry after its owner's last write: Time2Wait + Time2Retain (RFC
   * 7143 §6.2.2: no reassignment after that), one refresh period of slack, five seconds at least.
   */
  static long ttlMillis(SessionParameters p) {
    return Math.max(5000, 1000L * (p.defaultTime2Wait() + p.defaultTime2Retain()) + REFRESH_MILLIS);
  }

  private void startRefresh() {
    refreshTimer = session.service.vertx.setPeriodic(REFRESH_MILLIS, id -> session.run(() -> {
      if (System.nanoTime() - lastWrite >= REFRESH_MILLIS * 500_000L) {
        dirty = true;
        flush();
      }
    }));
  }

  // ---------------------------------------------------------------- owner side

  /** Something a survivor would need changed (a command arrived, completed or was acknowledged). */
  void changed() {
    dirty = true;
    if (scheduled || inFlight || !owned || gone) return;
    scheduled = true;
    session.service.vertx.setTimer(BATCH_MILLIS, id -> session.run(() -> {
      scheduled = false;
      flush();
    }));
  }

  /** Runs {@code then} once a write that includes the session as it is now has been stored. */
  private void afterWrite(Runnable then) {
    waiters.add(then);
    dirty = true;
    flush();
  }

  private void flush() {
    if (!dirty || inFlight || !owned || gone) return;
    SessionState next = written.withWindow(session.expCmdSn, session.announcedMaxCmdSn(), records());
    dirty = false;
    inFlight = true;
    List<Runnable> done = waiters;
    waiters = new ArrayList<>();
    store.update(next, ttlMillis).onComplete(ar -> session.run(() -> {
      inFlight = false;
      if (gone) return;
      if (ar.failed()) {
        // The store is unreachable for now (a member just left, partitions migrate): try again.
        log.warn("replication of {} failed: {}; retrying", session.describe(), ar.cause().toString());
        done.addAll(waiters);
        waiters = done;
        dirty = true;
        session.service.vertx.setTimer(100, id -> session.run(this::flush));
        return;
      }
      if (!ar.result()) {
        moved();
        return;
      }
      written = next;
      lastWrite = System.nanoTime();
      done.forEach(Runnable::run);
      if (!waiters.isEmpty()) flush();
      else if (dirty) changed();
    }));
  }

  /** The stored session carries another epoch or owner (or expired): it lives elsewhere now. */
  private void moved() {
    owned = false;
    log.warn("{} was taken over by another node (or expired); dropping it here without sending anything more",
        session.describe());
    session.end("moved to another node");
  }

  private List<TaskRecord> records() {
    List<TaskRecord> out = new ArrayList<>(session.tasks.size() + adopted.size());
    for (IscsiTask t : session.tasks.values()) out.add(record(t));
    out.addAll(adopted.values());
    out.sort((a, b) -> Integer.compare(a.cmdSn() - session.expCmdSn, b.cmdSn() - session.expCmdSn));
    return out;
  }

  /** The task's record, made again only when its phase changed (the CDB is copied once per phase). */
  private static TaskRecord record(IscsiTask t) {
    int phase = t.result != null ? TaskRecord.COMPLETED : t.executionRecorded ? TaskRecord.STARTED : TaskRecord.RECEIVED;
    TaskRecord r = t.replicated;
    if (r != null && r.phase() == phase) return r;
    r = t.record(phase);
    t.replicated = r;
    return r;
  }

  /**
   * Executes the task: at once, or — a non-idempotent command — once the store says it started,
   * so a survivor that finds it unfinished knows it may have run.
   */
  void execute(IscsiTask t, Runnable run) {
    if (!nonIdempotent(t)) {
      run.run();
      return;
    }
    t.executionRecorded = true;
    afterWrite(() -> {
      if (!t.finished()) run.run();
    });
  }

  /** Sends the task's status: at once, or — a non-idempotent command — once the store holds it. */
  void beforeStatus(IscsiTask t, Runnable send) {
    if (!nonIdempotent(t)) {
      send.run();
      return;
    }
    afterWrite(() -> {
      if (!t.finished() && !session.closed) send.run();
    });
  }

  /** COMPARE AND WRITE (SBC-4 5.3), PERSISTENT RESERVE OUT (SPC-5 6.17), EXTENDED COPY and the other third-party copy OUT commands (SPC-5 6.4). */
  static boolean nonIdempotent(IscsiTask t) {
    int op = t.cdb().getUnsignedByte(t.cdb().readerIndex());
    return op == 0x89 || op == 0x5f || op == 0x83;
  }

  /** The session ended here: its entry goes (if this node still owns it), and with it its TSIH. */
  void ended() {
    if (gone) return;
    gone = true;
    if (refreshTimer != 0) session.service.vertx.cancelTimer(refreshTimer);
    if (owned) store.remove(written);
  }

  // ---------------------------------------------------------------- survivor side

  /**
   * The first Login Request of a connection names a TSIH no local session has (RFC 7143 §6.3.4):
   * in a cluster the session may live on another node. Starts {@link #adopt} and returns true;
   * {@code then} runs once the lookup is done (the login goes on, finding the session or not).
   */
  static boolean lookUp(IscsiService service, io.spindle.iscsi.pdu.LoginRequestPdu req, io.vertx.core.Context context,
      Runnable then) {
    if (req.tsih() == 0 || service.cluster() == null || service.session(req.tsih()) != null) return false;
    req.retain();
    adopt(service, req.tsih(), req.isid(), req.cmdSn(), context).onComplete(x -> {
      try {
        then.run();
      } finally {
        req.release();
      }
    });
    return true;
  }

  /**
   * A login names TSIH {@code tsih} that no local session has: the stored session, if any and if
   * its ISID matches, becomes a local session on {@code context}, not yet owned — {@link #own} takes
   * it over once the login completes. Completes when the lookup is done, whatever it found.
   */
  static io.vertx.core.Future<Void> adopt(IscsiService service, int tsih, long isid, int loginCmdSn,
      io.vertx.core.Context context) {
    return service.stateStore().get(tsih).transform(ar -> {
      SessionState s = ar.succeeded() ? ar.result() : null;
      if (ar.failed()) log.warn("looking up TSIH {} in the cluster failed: {}", tsih, ar.cause().toString());
      if (s == null || s.isid() != isid || s.targetName() == null || service.session(tsih) != null) {
        return io.vertx.core.Future.succeededFuture();
      }
      IscsiTarget target = service.target(s.targetName());
      LoginPolicy.Admission admission = target == null ? null : service.loginPolicy().admit(target, s.initiatorName());
      if (admission == null) {
        log.warn("TSIH {} of {} names target {} which this node does not serve to it", tsih, s.initiatorName(),
            s.targetName());
        return io.vertx.core.Future.succeededFuture();
      }
      SessionParameters params = params(s.params());
      // RFC 7143 §11.12: a login for a new connection of a session carries the session's current
      // CmdSN; the window continues from there (or from what the old owner stored, if later).
      int exp = SerialNumbers.lessThan(s.expCmdSn(), loginCmdSn) ? loginCmdSn : s.expCmdSn();
      IscsiSession session = new IscsiSession(service, context, IscsiSession.Type.NORMAL, s.initiatorName(), isid, tsih,
          admission.target(), s.portalGroupTag(), params, IscsiSession.nexus(s.initiatorName(), isid,
          admission.target().name(), s.portalGroupTag()), service.negotiation.queueDepth(), exp);
      SessionReplicator r = new SessionReplicator(session, service.stateStore(), s, false);
      for (TaskRecord t : s.tasks()) r.adopted.put(t.itt(), t);
      r.retryFrom = s.expCmdSn();
      r.retryTo = exp;
      session.replica = r;
      service.register(session);
      session.startRecoveryTimers();
      service.observer().sessionOpened(target.name(), false);
      log.info("TSIH {} ({}) found in the cluster, owned by {} (epoch {}); {} task(s), CmdSN window from {}",
          tsih, session.describe(), s.owner(), s.epoch(), s.tasks().size(), exp & 0xffffffffL);
      service.vertx.setTimer(ADOPTION_MILLIS, id -> session.run(() -> {
        if (!r.owned && !r.gone && session.connections.isEmpty()) session.end("no login took the session over");
      }));
      return io.vertx.core.Future.succeededFuture();
    });
  }

  /**
   * Takes the session over from its previous owner (the epoch grows; the old owner's writes fail
   * from now on). On the session's context; false if another node took it first or it expired.
   */
  io.vertx.core.Future<Boolean> own() {
    if (owned) return io.vertx.core.Future.succeededFuture(true);
    long started = System.nanoTime();
    String node = session.service.node();
    return store.takeOver(written.tsih(), written.epoch(), node, ttlMillis).map(moved -> {
      if (moved == null || gone) return false;
      log.info("{} taken over from {} (epoch {}) in {} ms", session.describe(), written.owner(), moved.epoch(),
          (System.nanoTime() - started) / 1_000_000);
      written = moved;
      owned = true;
      startRefresh();
      long forget = 1000L * (session.params.defaultTime2Wait() + session.params.defaultTime2Retain());
      session.service.vertx.setTimer(Math.max(1, forget), id -> session.run(() -> {
        // RFC 7143 §6.2.2: past Time2Retain the initiator may not reassign these any more.
        if (!adopted.isEmpty()) log.info("{}: {} replicated task(s) never reassigned; forgotten", session.describe(),
            adopted.size());
        adopted.clear();
        retryTo = retryFrom;
        changed();
      }));
      changed();
      return true;
    });
  }

  boolean owned() {
    return owned;
  }

  /** True if non-immediate CmdSN {@code sn}, below ExpCmdSN, is a retry of a command the previous owner may have had. */
  boolean retried(int sn) {
    return SerialNumbers.lessOrEqual(retryFrom, sn) && SerialNumbers.lessThan(sn, retryTo);
  }

  /**
   * TASK REASSIGN of a task the previous owner replicated (RFC 7143 §6.2.2, §11.5.1): a completed
   * write's status is sent again; a non-idempotent command that may have run is answered without
   * running it again; anything else runs again here — reads with Data-In from the ExpDataSN of
   * the request, writes with (recovery) R2Ts for all their data, which never left the old node.
   *
   * @return false if the task is not one of them
   */
  boolean reassign(IscsiConnection from, TaskMgmtRequestPdu req) {
    TaskRecord r = adopted.remove(req.referencedTaskTag());
    if (r == null) return false;
    ScsiCommandPdu cmd = new ScsiCommandPdu().read(r.read()).write(r.write()).taskAttribute(r.attribute())
        .expectedDataTransferLength(r.expectedDataTransferLength()).cdb(r.cdb());
    cmd.cmdSn(r.cmdSn());
    cmd.itt(r.itt());
    cmd.lun(r.lun());
    cmd.finalBit(true);
    TaskAttribute attr = TaskAttribute.fromIscsi(r.attribute());
    IscsiTask t = new IscsiTask(from, session, cmd, cmd.cdb(), false, attr == null ? TaskAttribute.SIMPLE : attr);
    cmd.release();
    session.tasks.put(t.itt, t);
    changed();
    from.tmfResponse(req, TaskMgmtResponsePdu.FUNCTION_COMPLETE);
    session.service.observer().taskManagement(session.target.name(), "TASK_REASSIGN",
        TaskMgmtResponsePdu.FUNCTION_COMPLETE);
    boolean completed = r.phase() == TaskRecord.COMPLETED;
    if ((completed && !r.read()) || (r.phase() == TaskRecord.STARTED && nonIdempotent(t))) {
      ScsiResult stored = completed
          ? new ScsiResult(r.status(), r.sense().length == 0 ? null : Unpooled.wrappedBuffer(r.sense()), null,
              r.residual(), false)
          : new ScsiResult(ScsiStatus.CHECK_CONDITION, indeterminate(), null, 0, false);
      log.info("{} reassigned from the previous owner: {} without running it again", t,
          completed ? "stored status " + r.status() + " sent" : "CHECK CONDITION (outcome unknown)");
      t.executionRecorded = r.phase() == TaskRecord.STARTED;
      session.sendResult(t, stored);
    } else {
      t.resumeDataSn = r.read() ? Math.max(0, req.expDataSn()) : 0;
      log.info("{} reassigned from the previous owner: running it again{}", t,
          r.read() ? " (Data-In from DataSN " + t.resumeDataSn + ")" : " (R2T for all its data)");
      execute(t, () -> session.target.scsi().execute(t, t::complete));
    }
    return true;
  }

  /**
   * The sense of a non-idempotent command that may or may not have run on a node that died:
   * HARDWARE ERROR, INTERNAL TARGET FAILURE (SPC-5 4.4, Table 49: 44h/00h). Not ABORTED COMMAND,
   * which initiators retry on their own — a retried COMPARE AND WRITE that did run would then
   * miscompare against its own write; the application must look before it tries again.
   */
  private static ByteBuf indeterminate() {
    byte[] s = new byte[18];
    s[0] = 0x70;
    s[2] = 0x04;
    s[7] = 10;
    s[12] = 0x44;
    return Unpooled.wrappedBuffer(s);
  }

  // ---------------------------------------------------------------- session parameters as stored

  /** The session's identity and negotiated keys as the store holds them (a new session: epoch 1). */
  static SessionState state(IscsiSession s, String node) {
    return new SessionState(s.tsih, 1, node, s.initiatorName, s.isid, s.target == null ? null : s.target.name(),
        s.portalGroupTag, params(s.params), s.expCmdSn, s.announcedMaxCmdSn(), List.of());
  }

  static Map<String, String> params(SessionParameters p) {
    Map<String, String> m = new LinkedHashMap<>();
    try {
      for (RecordComponent c : SessionParameters.class.getRecordComponents()) {
        Object v = c.getAccessor().invoke(p);
        if (v != null) m.put(c.getName(), v.toString());
      }
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(e);
    }
    return m;
  }

  static SessionParameters params(Map<String, String> m) {
    RecordComponent[] cs = SessionParameters.class.getRecordComponents();
    Object[] args = new Object[cs.length];
    Class<?>[] types = new Class<?>[cs.length];
    for (int i = 0; i < cs.length; i++) {
      types[i] = cs[i].getType();
      String v = m.get(cs[i].getName());
      if (types[i] == int.class) args[i] = v == null ? 0 : Integer.parseInt(v);
      else if (types[i] == boolean.class) args[i] = Boolean.parseBoolean(v);
      else args[i] = v;
    }
    try {
      return SessionParameters.class.getDeclaredConstructor(types).newInstance(args);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(e);
    }
  }
}
