package io.spindle.initiator.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.spindle.initiator.Cdbs;
import io.spindle.initiator.Connection;
import io.spindle.initiator.ConnectionClosedException;
import io.spindle.initiator.IscsiInitiatorException;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.NegotiatedParameters;
import io.spindle.initiator.PduRejectedException;
import io.spindle.initiator.PendingCommand;
import io.spindle.initiator.RequestTimeoutException;
import io.spindle.initiator.ScsiResponse;
import io.spindle.initiator.Session;
import io.spindle.initiator.TaskAbortedException;
import io.spindle.iscsi.pdu.AsyncMessagePdu;
import io.spindle.iscsi.pdu.DataInPdu;
import io.spindle.iscsi.pdu.LogoutRequestPdu;
import io.spindle.iscsi.pdu.LogoutResponsePdu;
import io.spindle.iscsi.pdu.NopInPdu;
import io.spindle.iscsi.pdu.NopOutPdu;
import io.spindle.iscsi.pdu.Pdu;
import io.spindle.iscsi.pdu.R2tPdu;
import io.spindle.iscsi.pdu.RejectPdu;
import io.spindle.iscsi.pdu.ScsiResponsePdu;
import io.spindle.iscsi.pdu.TargetPdu;
import io.spindle.iscsi.pdu.TaskMgmtRequestPdu;
import io.spindle.iscsi.pdu.TaskMgmtResponsePdu;
import io.spindle.iscsi.pdu.TextRequestPdu;
import io.spindle.iscsi.pdu.TextResponsePdu;
import io.spindle.iscsi.text.TextKeys;
import io.spindle.iscsi.text.TextKeys.Pair;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A full-feature-phase session on one connection (RFC 7143 §3.2, §4.2). All state is confined
 * to the connection's context; public methods hop onto it. Non-immediate requests (SCSI
 * commands, Text) wait in a queue until CmdSN falls inside the window [ExpCmdSN, MaxCmdSN];
 * NOP-Out pings, task management and logout go immediately (I bit) without advancing CmdSN.
 */
final class SessionImpl implements Session, ConnectionImpl.Listener {

  private static final Logger log = LoggerFactory.getLogger(SessionImpl.class);
  /** RFC 7143 §11.2.1: the reserved tag value. */
  private static final int RESERVED_TAG = 0xffffffff;

  private final ConnectionImpl connection;
  private final InitiatorOptions options;
  private final String targetName;
  private final LoginExchange.Result login;
  private final NegotiatedParameters params;
  private final AtomicInteger ittSource = new AtomicInteger(LoginExchange.LOGIN_ITT + 1);
  private final Map<Integer, Exchange<?>> active = new HashMap<>();
  private final ArrayDeque<Exchange<?>> waiting = new ArrayDeque<>();
  private volatile int outstanding;
  private int cmdSn;
  private int expCmdSn;
  private int maxCmdSn;
  private int expStatSn;
  private ConnectionClosedException closed;

  SessionImpl(ConnectionImpl connection, InitiatorOptions options, String targetName, LoginExchange.Result login) {
    this.connection = connection;
    this.options = options;
    this.targetName = targetName;
    this.login = login;
    this.params = login.parameters();
    // RFC 7143 §4.2.2.1: the first command carries the CmdSN of the login request.
    this.cmdSn = login.cmdSn();
    this.expCmdSn = login.expCmdSn();
    this.maxCmdSn = login.maxCmdSn();
    this.expStatSn = login.expStatSn();
  }

  /** Takes over the connection once login succeeded: digests and our MaxRecvDataSegmentLength apply from now. */
  void attach() {
    // RFC 7143 §13.1, §13.12: negotiated digests and data segment limits start after the login phase.
    connection.limits().digests(params.headerDigest(), params.dataDigest())
        .maxRecvDataSegmentLength(params.maxRecvDataSegmentLength());
    connection.listener(this);
  }

  // ---- public API ----

  @Override
  public int tsih() {
    return login.tsih();
  }

  @Override
  public long isid() {
    return login.isid();
  }

  @Override
  public String targetName() {
    return targetName;
  }

  @Override
  public NegotiatedParameters parameters() {
    return params;
  }

  @Override
  public Connection connection() {
    return connection;
  }

  @Override
  public int outstanding() {
    return outstanding;
  }

  @Override
  public PendingCommand submit(int lun, byte[] cdb, ByteBuf dataOut, int expectedDataIn) {
    int itt = nextItt();
    ScsiTask task;
    try {
      task = new ScsiTask(itt, Cdbs.lun(lun), cdb, dataOut, expectedDataIn, PooledByteBufAllocator.DEFAULT);
    } catch (RuntimeException e) {
      if (dataOut != null && dataOut.refCnt() > 0) dataOut.release();
      return new PendingCommand(itt, Future.failedFuture(e));
    }
    return new PendingCommand(itt, connection.onContext(() -> register(new Command(task))));
  }

  @Override
  public Future<Void> nop() {
    int itt = nextItt();
    return connection.onContext(() -> register(new Nop(itt)));
  }

  @Override
  public Future<Integer> taskManagement(int function, int lun, int refItt) {
    int itt = nextItt();
    return connection.onContext(() -> register(new TaskManagement(itt, function, Cdbs.lun(lun), refItt)));
  }

  @Override
  public Future<List<Pair>> text(List<Pair> request) {
    int itt = nextItt();
    return connection.onContext(() -> register(new Text(itt, request)));
  }

  @Override
  public Future<Void> logout() {
    int itt = nextItt();
    return connection.onContext(() -> register(new Logout(itt)));
  }

  @Override
  public Future<Void> close() {
    return connection.close();
  }

  private int nextItt() {
    while (true) {
      int itt = ittSource.getAndIncrement();
      if (itt != RESERVED_TAG && itt != LoginExchange.LOGIN_ITT) return itt;
    }
  }

  // ---- exchanges ----

  private <T> Future<T> register(Exchange<T> e) {
    if (closed != null) {
      e.release();
      return Future.failedFuture(new ConnectionClosedException("session is closed", closed));
    }
    e.timer = connection.context().owner().setTimer(options.getCommandTimeoutMillis(), id -> timeout(e));
    if (e.ordered()) {
      waiting.add(e);
      pump();
    } else {
      active.put(e.itt, e);
      e.start(cmdSn);
    }
    outstanding = active.size() + waiting.size();
    return e.promise.future();
  }

  /** Sends queued requests while CmdSN is inside the target's window (RFC 7143 §4.2.2.1). */
  private void pump() {
    while (!waiting.isEmpty() && Sn.lte(cmdSn, maxCmdSn) && closed == null) {
      Exchange<?> e = waiting.poll();
      active.put(e.itt, e);
      e.start(cmdSn++);
    }
    outstanding = active.size() + waiting.size();
  }

  private void timeout(Exchange<?> e) {
    e.timer = -1;
    if (active.remove(e.itt, e) || waiting.remove(e)) {
      e.fail(new RequestTimeoutException(e + " got no answer within " + options.getCommandTimeoutMillis() + " ms"));
      outstanding = active.size() + waiting.size();
    }
  }

  private void done(Exchange<?> e) {
    active.remove(e.itt, e);
    if (e.timer >= 0) connection.context().owner().cancelTimer(e.timer);
    e.timer = -1;
    outstanding = active.size() + waiting.size();
  }

  /** Something the initiator is waiting for, keyed by its Initiator Task Tag. */
  private abstract class Exchange<T> {
    final int itt;
    final Promise<T> promise = connection.context().promise();
    long timer = -1;

    Exchange(int itt) {
      this.itt = itt;
    }

    /** True for requests that take a CmdSN and wait for the window. */
    abstract boolean ordered();

    abstract void start(int sn);

    abstract void onPdu(TargetPdu pdu);

    void succeed(T value) {
      done(this);
      promise.tryComplete(value);
    }

    void fail(Throwable cause) {
      done(this);
      release();
      promise.tryFail(cause);
    }

    void release() {
    }
  }

  private final class Command extends Exchange<ScsiResponse> {
    final ScsiTask task;

    Command(ScsiTask task) {
      super(task.itt);
      this.task = task;
    }

    @Override
    boolean ordered() {
      return true;
    }

    @Override
    void start(int sn) {
      sendAll(task.start(sn, expStatSn, params));
    }

    @Override
    void onPdu(TargetPdu pdu) {
      ScsiResponse r;
      if (pdu instanceof DataInPdu d) {
        r = task.onDataIn(d);
      } else if (pdu instanceof ScsiResponsePdu s) {
        r = task.onResponse(s);
      } else if (pdu instanceof R2tPdu r2t) {
        sendAll(task.onR2t(r2t, expStatSn, params));
        return;
      } else {
        throw new ScsiTask.ProtocolViolation("unexpected " + pdu + " for a SCSI command");
      }
      if (r == null) return;
      task.release();
      done(this);
      if (!promise.tryComplete(r)) r.close();
    }

    @Override
    void release() {
      task.release();
    }

    @Override
    public String toString() {
      return "SCSI command ITT 0x" + Integer.toHexString(itt);
    }
  }

  private final class Nop extends Exchange<Void> {
    Nop(int itt) {
      super(itt);
    }

    @Override
    boolean ordered() {
      return false;
    }

    @Override
    void start(int sn) {
      NopOutPdu nop = new NopOutPdu();
      nop.immediate(true);
      nop.itt(itt);
      nop.ttt(RESERVED_TAG).cmdSn(sn).expStatSn(expStatSn);
      connection.write(nop);
    }

    @Override
    void onPdu(TargetPdu pdu) {
      if (!(pdu instanceof NopInPdu)) throw new ScsiTask.ProtocolViolation("unexpected " + pdu + " for a NOP-Out");
      succeed(null);
    }

    @Override
    public String toString() {
      return "NOP-Out ITT 0x" + Integer.toHexString(itt);
    }
  }

  private final class TaskManagement extends Exchange<Integer> {
    final int function;
    final long lun;
    final int refItt;

    TaskManagement(int itt, int function, long lun, int refItt) {
      super(itt);
      this.function = function;
      this.lun = lun;
      this.refItt = refItt;
    }

    @Override
    boolean ordered() {
      return false;
    }

    @Override
    void start(int sn) {
      TaskMgmtRequestPdu tmf = new TaskMgmtRequestPdu();
      tmf.immediate(true);
      tmf.function(function).lun(lun).itt(itt);
      boolean abortTask = function == TaskMgmtRequestPdu.ABORT_TASK;
      tmf.referencedTaskTag(abortTask ? refItt : RESERVED_TAG);
      // RFC 7143 §11.5.5: RefCmdSN is the CmdSN of the referenced task (ABORT TASK).
      Exchange<?> ref = active.get(refItt);
      tmf.refCmdSn(abortTask && ref instanceof Command c ? c.task.cmdSn : sn);
      tmf.cmdSn(sn).expStatSn(expStatSn);
      connection.write(tmf);
    }

    @Override
    void onPdu(TargetPdu pdu) {
      if (!(pdu instanceof TaskMgmtResponsePdu r)) {
        throw new ScsiTask.ProtocolViolation("unexpected " + pdu + " for a task management request");
      }
      if (r.response() == TaskMgmtResponsePdu.FUNCTION_COMPLETE) abortLocally();
      succeed(r.response());
    }

    /** SAM-5 §7: the tasks the function ended get no SCSI Response; their futures fail here. */
    private void abortLocally() {
      List<Command> affected = new ArrayList<>();
      for (Exchange<?> e : active.values()) {
        if (!(e instanceof Command c)) continue;
        boolean hit;
        switch (function) {
          case TaskMgmtRequestPdu.ABORT_TASK:
            hit = c.itt == refItt;
            break;
          case TaskMgmtRequestPdu.ABORT_TASK_SET:
          case TaskMgmtRequestPdu.CLEAR_TASK_SET:
          case TaskMgmtRequestPdu.LOGICAL_UNIT_RESET:
            hit = c.task.lun == lun;
            break;
          case TaskMgmtRequestPdu.TARGET_WARM_RESET:
          case TaskMgmtRequestPdu.TARGET_COLD_RESET:
            hit = true;
            break;
          default:
            hit = false;
        }
        if (hit) affected.add(c);
      }
      for (Command c : affected) {
        c.fail(new TaskAbortedException(c + " ended by task management function " + function));
      }
    }

    @Override
    public String toString() {
      return "task management function " + function + " ITT 0x" + Integer.toHexString(itt);
    }
  }

  private final class Text extends Exchange<List<Pair>> {
    final List<Pair> request;
    final CompositeByteBuf answer = Unpooled.compositeBuffer(Integer.MAX_VALUE);

    Text(int itt, List<Pair> request) {
      super(itt);
      this.request = List.copyOf(request);
    }

    @Override
    boolean ordered() {
      return true;
    }

    @Override
    void start(int sn) {
      send(sn, RESERVED_TAG, TextKeys.encode(request));
    }

    private void send(int sn, int ttt, ByteBuf data) {
      TextRequestPdu t = new TextRequestPdu();
      t.finalBit(true);
      t.itt(itt);
      t.ttt(ttt).cmdSn(sn).expStatSn(expStatSn);
      t.data(data);
      connection.write(t);
    }

    @Override
    void onPdu(TargetPdu pdu) {
      if (!(pdu instanceof TextResponsePdu r)) throw new ScsiTask.ProtocolViolation("unexpected " + pdu + " for Text");
      answer.addComponent(true, r.data().retainedSlice());
      if (r.continueBit() || !r.finalBit()) {
        // RFC 7143 §11.11: an empty Text Request with the target's TTT asks for the rest.
        // It takes the next CmdSN at once; a text exchange is never pipelined behind a closed window.
        send(cmdSn++, r.ttt(), Unpooled.EMPTY_BUFFER);
        return;
      }
      List<Pair> pairs;
      try {
        pairs = TextKeys.parse(answer);
      } catch (TextKeys.MalformedTextException e) {
        fail(new IscsiInitiatorException("malformed Text Response: " + e.getMessage()));
        return;
      }
      release();
      succeed(pairs);
    }

    @Override
    void release() {
      if (answer.refCnt() > 0) answer.release();
    }

    @Override
    public String toString() {
      return "Text ITT 0x" + Integer.toHexString(itt);
    }
  }

  private final class Logout extends Exchange<Void> {
    Logout(int itt) {
      super(itt);
    }

    @Override
    boolean ordered() {
      return false;
    }

    @Override
    void start(int sn) {
      LogoutRequestPdu req = new LogoutRequestPdu();
      req.immediate(true);
      req.reasonCode(LogoutRequestPdu.CLOSE_SESSION).itt(itt);
      req.cmdSn(sn).expStatSn(expStatSn);
      connection.write(req);
    }

    @Override
    void onPdu(TargetPdu pdu) {
      if (!(pdu instanceof LogoutResponsePdu r)) {
        throw new ScsiTask.ProtocolViolation("unexpected " + pdu + " for Logout");
      }
      done(this);
      if (r.response() != LogoutResponsePdu.CLOSED) {
        promise.tryFail(new IscsiInitiatorException("logout refused, response " + r.response()));
        return;
      }
      // RFC 7143 §11.15: after the response the initiator closes the connection.
      connection.close().onComplete(ar -> promise.tryComplete());
    }

    @Override
    public String toString() {
      return "Logout ITT 0x" + Integer.toHexString(itt);
    }
  }

  private void sendAll(List<Pdu> pdus) {
    for (Pdu p : pdus) connection.write(p);
  }

  // ---- receive ----

  @Override
  public void onPdu(Pdu pdu) {
    if (!(pdu instanceof TargetPdu t)) {
      connection.fail("received initiator PDU " + pdu + " from the target");
      return;
    }
    updateWindow(t);
    try {
      dispatch(t);
    } catch (ScsiTask.ProtocolViolation e) {
      // RFC 7143 §7.1: at ERL 0 a protocol error ends the connection; pending requests fail with the reason.
      connection.fail(e.getMessage());
      return;
    }
    pump();
  }

  private void dispatch(TargetPdu t) {
    switch (t.opcode()) {
      case DATA_IN:
        if (((DataInPdu) t).hasStatus()) acknowledge(t);
        toExchange(t);
        break;
      case R2T:
        toExchange(t);
        break;
      case SCSI_RESPONSE:
      case TASK_MGMT_RESPONSE:
      case TEXT_RESPONSE:
      case LOGOUT_RESPONSE:
        acknowledge(t);
        toExchange(t);
        break;
      case NOP_IN:
        onNopIn((NopInPdu) t);
        break;
      case REJECT:
        acknowledge(t);
        onReject((RejectPdu) t);
        break;
      case ASYNC_MESSAGE:
        acknowledge(t);
        AsyncMessagePdu a = (AsyncMessagePdu) t;
        log.info("{}: asynchronous message, event {} (parameters {}, {}, {})", connection, a.asyncEvent(),
            a.parameter1(), a.parameter2(), a.parameter3());
        break;
      default:
        throw new ScsiTask.ProtocolViolation("unexpected " + t + " in full feature phase");
    }
  }

  private void toExchange(TargetPdu t) {
    Exchange<?> e = active.get(t.itt());
    if (e == null) {
      // A late answer to a request that timed out or was aborted.
      log.debug("{}: dropping {} for unknown ITT", connection, t);
      return;
    }
    e.onPdu(t);
  }

  private void onNopIn(NopInPdu n) {
    if (n.itt() != RESERVED_TAG) {
      acknowledge(n);
      toExchange(n);
      return;
    }
    if (n.ttt() != RESERVED_TAG) {
      // RFC 7143 §11.18: answer a target ping with its TTT and LUN, echoing its data, ITT reserved.
      NopOutPdu out = new NopOutPdu();
      out.immediate(true);
      out.lun(n.lun()).itt(RESERVED_TAG);
      out.ttt(n.ttt()).cmdSn(cmdSn).expStatSn(expStatSn);
      if (n.data().isReadable()) out.data(n.data().retainedSlice());
      connection.write(out);
    }
  }

  private void onReject(RejectPdu r) {
    ByteBuf header = r.data();
    if (header.readableBytes() < Pdu.BHS_LENGTH) {
      log.warn("{}: Reject reason 0x{} without the rejected header", connection, Integer.toHexString(r.reason()));
      return;
    }
    int rejectedItt = header.getInt(header.readerIndex() + 16);
    Exchange<?> e = active.get(rejectedItt);
    log.info("{}: target rejected a PDU for ITT 0x{}, reason 0x{}", connection, Integer.toHexString(rejectedItt),
        Integer.toHexString(r.reason()));
    if (e != null) e.fail(new PduRejectedException(r.reason()));
  }

  /** RFC 7143 §4.2.2.1: ExpCmdSN and MaxCmdSN only move forward, and are ignored when MaxCmdSN < ExpCmdSN - 1. */
  private void updateWindow(TargetPdu t) {
    int exp = t.expCmdSn();
    int max = t.maxCmdSn();
    if (Sn.lt(max, exp - 1)) return;
    if (Sn.gt(exp, expCmdSn)) expCmdSn = exp;
    if (Sn.gt(max, maxCmdSn)) maxCmdSn = max;
  }

  /** RFC 7143 §4.2.2.2: a PDU carrying status advances ExpStatSN past its StatSN. */
  private void acknowledge(TargetPdu t) {
    int next = t.statSn() + 1;
    if (Sn.gt(next, expStatSn)) expStatSn = next;
  }

  @Override
  public void onClosed(ConnectionClosedException cause) {
    closed = cause;
    List<Exchange<?>> all = new ArrayList<>(active.values());
    all.addAll(waiting);
    active.clear();
    waiting.clear();
    for (Exchange<?> e : all) {
      if (e instanceof Logout && e.promise.future().isComplete()) continue;
      e.fail(cause);
    }
    outstanding = 0;
  }

  @Override
  public String toString() {
    return "session ISID 0x" + Long.toHexString(login.isid()) + " TSIH " + login.tsih()
        + (targetName == null ? " (discovery)" : " to " + targetName);
  }
}
