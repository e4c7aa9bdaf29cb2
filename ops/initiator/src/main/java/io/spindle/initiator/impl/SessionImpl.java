package io.spindle.initiator.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.spindle.initiator.Cdbs;
import io.spindle.initiator.Connection;
import io.spindle.initiator.ConnectionClosedException;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.IscsiInitiatorException;
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
import io.spindle.iscsi.pdu.Opcode;
import io.spindle.iscsi.pdu.Pdu;
import io.spindle.iscsi.pdu.R2tPdu;
import io.spindle.iscsi.pdu.RejectPdu;
import io.spindle.iscsi.pdu.ScsiResponsePdu;
import io.spindle.iscsi.pdu.SnackRequestPdu;
import io.spindle.iscsi.pdu.TargetPdu;
import io.spindle.iscsi.pdu.TaskMgmtRequestPdu;
import io.spindle.iscsi.pdu.TaskMgmtResponsePdu;
import io.spindle.iscsi.pdu.TextRequestPdu;
import io.spindle.iscsi.pdu.TextResponsePdu;
import io.spindle.iscsi.text.TextKeys;
import io.spindle.iscsi.text.TextKeys.Pair;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.internal.ContextInternal;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A full-feature-phase session (RFC 7143 §3.2, §4.2) over one or more connections. All state,
 * every connection's included, is confined to one Vert.x context: further connections are
 * opened on it. Non-immediate requests (SCSI commands, Text) wait until CmdSN falls inside the
 * window [ExpCmdSN, MaxCmdSN] (shared by the session); NOP-Out, task management and logout go
 * immediately without advancing CmdSN. Commands are spread over the connections round-robin and
 * keep allegiance to the one they were sent on; each connection has its own StatSN sequence.
 *
 * <p>Error recovery (RFC 7143 §7): at ERL 1 and 2 digest errors and sequence gaps are answered
 * with SNACKs (see {@link ScsiTask}) and a Reject of a command for a data digest error with a
 * retry. At ERL 2 a lost connection is recovered inside the session after DefaultTime2Wait:
 * logout of the failed CID ("remove for recovery") on a live connection, or reinstatement of the
 * CID on a new one, then TASK REASSIGN of each of its tasks. When that is not possible and
 * {@link InitiatorOptions#isSessionRecovery()} is on, the session logs in again with the same ISID
 * and re-issues its commands.
 */
final class SessionImpl implements Session {

  private static final Logger log = LoggerFactory.getLogger(SessionImpl.class);
  /** RFC 7143 §11.2.1: the reserved tag value. */
  private static final int RESERVED_TAG = 0xffffffff;
  /** Times one command may be sent as a new task before its failure is reported. */
  private static final int MAX_ATTEMPTS = 5;
  private static final long RETRY_DELAY_MILLIS = 500;

  /** Opens TCP connections to the session's portal on a given context. */
  interface Connector {
    Future<ConnectionImpl> open(ContextInternal context);
  }

  private final ContextInternal context;
  private final Connector connector;
  private final InitiatorOptions options;
  private final String targetName;
  private final long isid;
  private volatile int tsih;
  private volatile NegotiatedParameters params;
  private final AtomicInteger ittSource = new AtomicInteger(LoginExchange.LOGIN_ITT + 1);
  private final Map<Integer, Exchange<?>> active = new HashMap<>();
  private final ArrayDeque<Exchange<?>> waiting = new ArrayDeque<>();
  private final ArrayDeque<Exchange<?>> immediate = new ArrayDeque<>();
  private final List<Link> links = new ArrayList<>();
  private volatile List<Connection> connectionsView = List.of();
  private volatile ConnectionImpl primary;
  private volatile int outstanding;
  private final AtomicInteger recoveries = new AtomicInteger();
  private int cmdSn;
  private int expCmdSn;
  /** Retry a gap command at most this often. */
  private static final long GAP_RETRY_NANOS = 500_000_000L;
  /** How often the gap watch looks at the target's ExpCmdSN (milliseconds). */
  private static final long GAP_WATCH_MILLIS = 250;
  /** The target's ExpCmdSN at the last gap watch, and whether a NOP-Out ping of the watch is out. */
  private int watchedExpCmdSn;
  private boolean gapPingOut;
  private int maxCmdSn;
  private int nextCid;
  private int roundRobin;
  /** Logout or close asked by the user: connection losses are not recovered. */
  private boolean ending;
  /** A session re-login is under way: the links it closes are not recovered one by one. */
  private boolean relogging;
  private ConnectionClosedException closed;

  SessionImpl(ConnectionImpl connection, Connector connector, InitiatorOptions options, String targetName,
      LoginExchange.Result login) {
    this.context = connection.context();
    this.connector = connector;
    this.options = options;
    this.targetName = targetName;
    this.isid = login.isid();
    adopt(login);
    attach(connection, login);
    if (targetName != null && erl() >= 1) {
      context.owner().setPeriodic(GAP_WATCH_MILLIS, id -> {
        if (closed != null) context.owner().cancelTimer(id);
        else watchGap();
      });
    }
  }

  /** Session values of a leading login. RFC 7143 §4.2.2.1: the first command carries the login's CmdSN. */
  private void adopt(LoginExchange.Result login) {
    this.tsih = login.tsih();
    this.params = login.parameters();
    this.cmdSn = login.cmdSn();
    this.expCmdSn = login.expCmdSn();
    this.maxCmdSn = login.maxCmdSn();
    this.nextCid = login.cid() + 1;
  }

  /** Takes over a logged-in connection: digests and our MaxRecvDataSegmentLength apply from now. */
  private Link attach(ConnectionImpl connection, LoginExchange.Result login) {
    NegotiatedParameters p = login.parameters();
    // RFC 7143 §13.1, §13.12: negotiated digests and data segment limits start after the login phase.
    connection.limits().digests(p.headerDigest(), p.dataDigest()).maxRecvDataSegmentLength(p.maxRecvDataSegmentLength());
    Link l = new Link(connection, login.cid(), p, login.expStatSn());
    if (targetName != null) connection.faults(options.getFaultInjector());
    connection.listener(l);
    links.add(l);
    updateView();
    return l;
  }

  private void updateView() {
    List<Connection> view = new ArrayList<>();
    for (Link l : links) view.add(l.connection);
    connectionsView = List.copyOf(view);
    if (!links.isEmpty()) primary = links.get(0).connection;
  }

  /**
   * Opens the further connections the session may have (RFC 7143 §13.2: up to the negotiated
   * MaxConnections, and no more than the options ask for). A connection that fails to log in is
   * logged and left out; the session works with the ones it has.
   */
  Future<SessionImpl> openConnections() {
    Promise<SessionImpl> done = context.promise();
    context.runOnContext(v -> {
      int want = Math.min(params.maxConnections(), options.getMaxConnections()) - links.size();
      if (targetName == null || want <= 0) {
        done.complete(this);
        return;
      }
      List<Future<Link>> all = new ArrayList<>();
      for (int i = 0; i < want; i++) all.add(addConnection(nextCid++, null));
      Future.join(all).onComplete(ar -> done.complete(this));
    });
    return done.future();
  }

  /**
   * Logs in a connection of this session (TSIH set): a new CID, or the CID of a failed connection
   * to reinstate it (RFC 7143 §7.2.3: the target logs the old one out implicitly).
   */
  private Future<Link> addConnection(int cid, Link failed) {
    NegotiatedParameters session = params;
    int expStatSn = failed == null ? 0 : failed.expStatSn;
    return connector.open(context).compose(c -> new LoginExchange(c, options,
        new LoginExchange.Request(targetName, isid, tsih, cid, cmdSn, expStatSn, session)).start()
        .map(result -> {
          if (closed != null || relogging) {
            c.close();
            throw new ConnectionClosedException("session ended during the login of CID " + cid, null);
          }
          Link l = attach(c, result);
          log.info("{}: connection CID {} logged in{}", this, cid, failed == null ? "" : " (reinstated)");
          pump();
          return l;
        }))
        .onFailure(err -> log.warn("{}: login of connection CID {} failed: {}", this, cid, err.getMessage()));
  }

  // ---- public API ----

  @Override
  public int tsih() {
    return tsih;
  }

  @Override
  public long isid() {
    return isid;
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
    return primary;
  }

  @Override
  public List<Connection> connections() {
    return connectionsView;
  }

  @Override
  public int recoveries() {
    return recoveries.get();
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
    return new PendingCommand(itt, onContext(() -> register(new Command(task))));
  }

  @Override
  public Future<Void> nop() {
    int itt = nextItt();
    return onContext(() -> register(new Nop(itt)));
  }

  @Override
  public Future<Integer> taskManagement(int function, int lun, int refItt) {
    int itt = nextItt();
    return onContext(() -> register(new TaskManagement(itt, function, Cdbs.lun(lun), refItt)));
  }

  @Override
  public Future<List<Pair>> text(List<Pair> request) {
    int itt = nextItt();
    return onContext(() -> register(new Text(itt, request)));
  }

  @Override
  public Future<Void> logout() {
    int itt = nextItt();
    return onContext(() -> {
      ending = true;
      return register(new Logout(itt, LogoutRequestPdu.CLOSE_SESSION, 0, null));
    });
  }

  @Override
  public Future<Void> close() {
    return onContext(() -> {
      ending = true;
      List<Future<Void>> all = new ArrayList<>();
      for (Link l : new ArrayList<>(links)) all.add(l.connection.close());
      if (all.isEmpty() && closed == null) failAll(new ConnectionClosedException("session closed", null));
      return Future.join(all).mapEmpty();
    });
  }

  private <T> Future<T> onContext(java.util.function.Supplier<Future<T>> action) {
    if (context.isRunningOnContext()) return guarded(action);
    Promise<T> p = context.promise();
    context.runOnContext(v -> guarded(action).onComplete(p));
    return p.future();
  }

  private static <T> Future<T> guarded(java.util.function.Supplier<Future<T>> action) {
    try {
      return action.get();
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
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
    e.timer = context.owner().setTimer(options.getCommandTimeoutMillis(), id -> timeout(e));
    (e.ordered() ? waiting : immediate).add(e);
    pump();
    return e.promise.future();
  }

  /**
   * Sends what waits: immediate requests as soon as a connection is up, queued ones while CmdSN is
   * inside the target's window (RFC 7143 §4.2.2.1), each on the next connection round-robin
   * unless it was bound to one.
   */
  private void pump() {
    while (!immediate.isEmpty() && closed == null) {
      Exchange<?> e = immediate.peek();
      Link l = e.link != null ? (e.link.gone ? null : e.link) : pickLink();
      if (l == null) {
        if (e.link == null) break;
        immediate.poll();
        e.fail(new ConnectionClosedException(e + ": its connection is gone", null));
        continue;
      }
      immediate.poll();
      e.link = l;
      active.put(e.itt, e);
      e.start(cmdSn);
    }
    while (!waiting.isEmpty() && Sn.lte(cmdSn, maxCmdSn) && closed == null) {
      Link l = pickLink();
      if (l == null) break;
      Exchange<?> e = waiting.poll();
      e.link = l;
      active.put(e.itt, e);
      e.start(cmdSn++);
    }
    outstanding = active.size() + waiting.size() + immediate.size();
  }

  private Link pickLink() {
    int n = links.size();
    for (int i = 0; i < n; i++) {
      Link l = links.get(Math.floorMod(roundRobin++, n));
      if (!l.gone && !l.draining) return l;
    }
    return null;
  }

  private void timeout(Exchange<?> e) {
    e.timer = -1;
    if (active.remove(e.itt, e) || waiting.remove(e) || immediate.remove(e)) {
      e.fail(new RequestTimeoutException(e + " got no answer within " + options.getCommandTimeoutMillis() + " ms"));
      outstanding = active.size() + waiting.size() + immediate.size();
    }
  }

  private void done(Exchange<?> e) {
    active.remove(e.itt, e);
    if (e.timer >= 0) context.owner().cancelTimer(e.timer);
    e.timer = -1;
    outstanding = active.size() + waiting.size() + immediate.size();
    if (e.link != null && e.link.draining) logoutIfDrained(e.link);
  }

  /** Something the initiator is waiting for, keyed by its Initiator Task Tag. */
  private abstract class Exchange<T> {
    final int itt;
    final Promise<T> promise = context.promise();
    long timer = -1;
    /** The connection it has allegiance to (RFC 7143 §5.3.2), null while queued or orphaned. */
    Link link;

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
    /** When it was last retried for a CmdSN gap (System.nanoTime), 0 if never. */
    long lastRetry;

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
      send(task.start(sn, link.expStatSn, link.params));
    }

    /** RFC 7143 §7.2.1: a retry is the same command (ITT, CmdSN, data) on the same connection. */
    void retry() {
      task.reset();
      send(task.start(task.cmdSn, link.expStatSn, link.params));
    }

    private void send(List<Pdu> pdus) {
      // iSER (RFC 7145 §9.2): the connection registers the task's buffers for its STags first.
      link.connection.prepareTask(task, task.unsolicitedLength());
      link.sendAll(pdus);
    }

    @Override
    void onPdu(TargetPdu pdu) {
      List<Pdu> out = new ArrayList<>();
      ScsiResponse r;
      try {
        if (pdu instanceof DataInPdu d) {
          r = task.onDataIn(d, out);
        } else if (pdu instanceof ScsiResponsePdu s) {
          r = task.onResponse(s, out);
        } else if (pdu instanceof R2tPdu r2t) {
          task.onR2t(r2t, link.expStatSn, link.params, out);
          r = null;
        } else {
          throw new ScsiTask.ProtocolViolation("unexpected " + pdu + " for a SCSI command");
        }
      } finally {
        link.sendAll(out);
      }
      if (r == null) return;
      if (isCrcError(r) && task.attempts < MAX_ATTEMPTS) {
        // RFC 7143 §7.8: a task the target ended for a digest error is sent again as a new task.
        log.info("{}: {} ended with a protocol service CRC error; sending it again", SessionImpl.this, this);
        r.close();
        reissue(this);
        return;
      }
      task.release();
      done(this);
      if (!promise.tryComplete(r)) r.close();
    }

    @Override
    void release() {
      if (link != null) link.connection.taskDone(task.itt);
      task.release();
    }

    @Override
    public String toString() {
      return "SCSI command ITT 0x" + Integer.toHexString(itt);
    }
  }

  /** SPC-5: CHECK CONDITION, ABORTED COMMAND, 47h/05h PROTOCOL SERVICE CRC ERROR (RFC 7143 §7.1.4.1). */
  private static boolean isCrcError(ScsiResponse r) {
    return r.status() == ScsiResponse.CHECK_CONDITION && r.senseKey() == 0x0b && r.asc() == 0x47 && r.ascq() == 0x05;
  }

  /** Sends a command again as a new task (new CmdSN), ahead of everything queued. */
  private void reissue(Command c) {
    recoveries.incrementAndGet();
    active.remove(c.itt, c);
    c.task.reset();
    c.task.attempts++;
    c.link = null;
    waiting.addFirst(c);
    pump();
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
      nop.ttt(RESERVED_TAG).cmdSn(sn).expStatSn(link.expStatSn);
      link.write(nop);
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
    int refCmdSn;
    int expDataSn;

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
      boolean referenced = function == TaskMgmtRequestPdu.ABORT_TASK || function == TaskMgmtRequestPdu.TASK_REASSIGN;
      tmf.referencedTaskTag(referenced ? refItt : RESERVED_TAG);
      if (function == TaskMgmtRequestPdu.TASK_REASSIGN) {
        // RFC 7143 §11.5.4, §11.5.6: RefCmdSN and ExpDataSN (the first Data-In not received) of the task.
        tmf.refCmdSn(refCmdSn);
        tmf.bhs().setInt(36, expDataSn);
        // iSER (RFC 7145 §7.3): STags are per connection, so the TMF's iSER header advertises the
        // task's buffers registered on this one; the target reads every byte it lacks again.
        if (active.get(refItt) instanceof Command c) link.connection.prepareTask(c.task, 0);
      } else {
        // RFC 7143 §11.5.4: RefCmdSN is the CmdSN of the referenced task (ABORT TASK).
        Exchange<?> ref = active.get(refItt);
        tmf.refCmdSn(function == TaskMgmtRequestPdu.ABORT_TASK && ref instanceof Command c ? c.task.cmdSn : sn);
      }
      tmf.cmdSn(sn).expStatSn(link.expStatSn);
      link.write(tmf);
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
      t.ttt(ttt).cmdSn(sn).expStatSn(link.expStatSn);
      t.data(data);
      link.write(t);
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

  /** Logout (RFC 7143 §11.14): of the session, of one connection, or of a failed CID for recovery. */
  private final class Logout extends Exchange<Void> {
    final int reason;
    final int cid;

    Logout(int itt, int reason, int cid, Link on) {
      super(itt);
      this.reason = reason;
      this.cid = cid;
      this.link = on;
    }

    @Override
    boolean ordered() {
      return false;
    }

    @Override
    void start(int sn) {
      LogoutRequestPdu req = new LogoutRequestPdu();
      req.immediate(true);
      req.reasonCode(reason).itt(itt);
      if (reason != LogoutRequestPdu.CLOSE_SESSION) req.cid(cid);
      req.cmdSn(sn).expStatSn(link.expStatSn);
      link.write(req);
    }

    @Override
    void onPdu(TargetPdu pdu) {
      if (!(pdu instanceof LogoutResponsePdu r)) {
        throw new ScsiTask.ProtocolViolation("unexpected " + pdu + " for Logout");
      }
      done(this);
      boolean ok = r.response() == LogoutResponsePdu.CLOSED
          || (reason == LogoutRequestPdu.REMOVE_FOR_RECOVERY && r.response() == LogoutResponsePdu.CID_NOT_FOUND);
      if (!ok) {
        promise.tryFail(new IscsiInitiatorException("logout refused, response " + r.response()));
        return;
      }
      if (reason == LogoutRequestPdu.REMOVE_FOR_RECOVERY) {
        promise.tryComplete();
        return;
      }
      // RFC 7143 §11.15: after the response the initiator closes the connection.
      link.loggedOut = true;
      if (reason == LogoutRequestPdu.CLOSE_SESSION) {
        List<Future<Void>> all = new ArrayList<>();
        for (Link l : new ArrayList<>(links)) all.add(l.connection.close());
        Future.join(all).onComplete(ar -> promise.tryComplete());
      } else {
        link.connection.close().onComplete(ar -> promise.tryComplete());
      }
    }

    @Override
    public String toString() {
      return "Logout (reason " + reason + ") ITT 0x" + Integer.toHexString(itt);
    }
  }

  // ---- connections ----

  /** One connection of the session: its StatSN sequence and what it may carry (RFC 7143 §4.2.2.2). */
  final class Link implements ConnectionImpl.Listener {
    final ConnectionImpl connection;
    final int cid;
    final NegotiatedParameters params;
    int expStatSn;
    /** StatSNs received beyond a gap (ERL >= 1). */
    final TreeSet<Integer> ahead = new TreeSet<>(Sn::compare);
    /** Every StatSN below this was received or asked for with a Status SNACK. */
    int statSnackedTo;
    /** The target asked for a logout: no new commands, logout once its tasks are done. */
    boolean draining;
    boolean loggedOut;
    boolean gone;

    Link(ConnectionImpl connection, int cid, NegotiatedParameters params, int expStatSn) {
      this.connection = connection;
      this.cid = cid;
      this.params = params;
      this.expStatSn = expStatSn;
      this.statSnackedTo = expStatSn;
    }

    void write(Pdu pdu) {
      connection.write(pdu);
    }

    /** Writes every PDU; ownership of all of them passes, even when one write throws. */
    void sendAll(List<Pdu> pdus) {
      int i = 0;
      try {
        for (; i < pdus.size(); i++) connection.write(pdus.get(i));
      } finally {
        for (i++; i < pdus.size(); i++) pdus.get(i).release();
      }
    }

    @Override
    public void onPdu(Pdu pdu) {
      SessionImpl.this.onPdu(this, pdu);
    }

    @Override
    public void onClosed(ConnectionClosedException cause) {
      onLinkClosed(this, cause);
    }

    @Override
    public String toString() {
      return "CID " + cid;
    }
  }

  // ---- receive ----

  private int erl() {
    return params.errorRecoveryLevel();
  }

  void onPdu(Link l, Pdu pdu) {
    if (!(pdu instanceof TargetPdu t)) {
      l.connection.fail("received initiator PDU " + pdu + " from the target");
      return;
    }
    updateWindow(t);
    try {
      if (t.dataDigestError()) {
        onDataDigestError(l, t);
      } else {
        dispatch(l, t);
      }
    } catch (ScsiTask.ProtocolViolation e) {
      // RFC 7143 §7.1: a protocol error ends the connection; recovery (or failure) follows from its loss.
      l.connection.fail(e.getMessage());
      return;
    }
    pump();
  }

  /**
   * RFC 7143 §7.8: a PDU whose data digest failed is discarded. At ERL 0 that is a connection
   * failure; from ERL 1 on what it carried is asked for again: the Data-In by its DataSN, a
   * status by its StatSN (the header is sound, its digest passed).
   */
  private void onDataDigestError(Link l, TargetPdu t) {
    if (erl() == 0) throw new ScsiTask.ProtocolViolation("data digest error in " + t + " at ErrorRecoveryLevel 0");
    log.info("{} {}: data digest error in {}; asking for it again", this, l, t);
    if (t instanceof DataInPdu d) {
      Exchange<?> e = active.get(d.itt());
      if (e instanceof Command c) {
        List<Pdu> out = new ArrayList<>();
        c.task.onDataInLost(d.dataSn(), out);
        l.sendAll(out);
      }
      return;
    }
    if (carriesStatus(t)) {
      int sn = t.statSn();
      l.write(statusSnack(l, sn, 1));
    }
  }

  private static boolean carriesStatus(TargetPdu t) {
    switch (t.opcode()) {
      case SCSI_RESPONSE:
      case TASK_MGMT_RESPONSE:
      case TEXT_RESPONSE:
      case LOGOUT_RESPONSE:
      case REJECT:
      case ASYNC_MESSAGE:
        return true;
      case DATA_IN:
        return ((DataInPdu) t).hasStatus();
      case NOP_IN:
        return t.itt() != RESERVED_TAG;
      default:
        return false;
    }
  }

  private void dispatch(Link l, TargetPdu t) {
    if (carriesStatus(t)) {
      acknowledge(l, t);
    } else if (erl() >= 1 && t.opcode() != Opcode.DATA_IN && Sn.gt(t.statSn(), l.expStatSn)) {
      // RFC 7143 §11.8.?/§11.19: R2T and NOP-In carry the next StatSN; beyond ours, statuses were lost.
      statusGap(l, t.statSn());
    }
    switch (t.opcode()) {
      case DATA_IN:
      case R2T:
      case SCSI_RESPONSE:
      case TASK_MGMT_RESPONSE:
      case TEXT_RESPONSE:
      case LOGOUT_RESPONSE:
        toExchange(t);
        break;
      case NOP_IN:
        onNopIn(l, (NopInPdu) t);
        break;
      case REJECT:
        onReject(l, (RejectPdu) t);
        break;
      case ASYNC_MESSAGE:
        onAsyncMessage(l, (AsyncMessagePdu) t);
        break;
      default:
        throw new ScsiTask.ProtocolViolation("unexpected " + t + " in full feature phase");
    }
  }

  private void toExchange(TargetPdu t) {
    Exchange<?> e = active.get(t.itt());
    if (e == null) {
      // A late answer to a request that timed out or was aborted, or a duplicate after a SNACK.
      log.debug("{}: dropping {} for unknown ITT", this, t);
      return;
    }
    e.onPdu(t);
  }

  private void onNopIn(Link l, NopInPdu n) {
    if (n.itt() != RESERVED_TAG) {
      toExchange(n);
      return;
    }
    if (n.ttt() != RESERVED_TAG) {
      // RFC 7143 §11.18: answer a target ping with its TTT and LUN, echoing its data, ITT reserved.
      NopOutPdu out = new NopOutPdu();
      out.immediate(true);
      out.lun(n.lun()).itt(RESERVED_TAG);
      out.ttt(n.ttt()).cmdSn(cmdSn).expStatSn(l.expStatSn);
      if (n.data().isReadable()) out.data(n.data().retainedSlice());
      l.write(out);
      if (erl() >= 1) retryGap();
    }
  }

  /**
   * The target pings when it discards a command, but not again for a second discard while its
   * ping is out, and a lost retry leaves nothing to ping about. So four times a second: if the
   * target's ExpCmdSN has not moved since the last look while commands are outstanding, ask it
   * with a NOP-Out ping and retry what it still expects.
   */
  private void watchGap() {
    if (!Sn.lt(expCmdSn, cmdSn) || expCmdSn != watchedExpCmdSn) {
      watchedExpCmdSn = expCmdSn;
      return;
    }
    if (gapPingOut) return;
    gapPingOut = true;
    register(new Nop(nextItt())).onComplete(ar -> {
      gapPingOut = false;
      if (ar.succeeded()) retryGap();
    });
  }

  /**
   * NOP-based gap detection (RFC 7143 §6.2.1, §7.1.4.2): a target ping shows its ExpCmdSN; if
   * that is a command sent a while ago with later ones behind it, the target never got it (its
   * header was discarded, say). It is sent again with the same ITT and CmdSN.
   */
  private void retryGap() {
    if (!Sn.lt(expCmdSn, cmdSn)) return;
    long now = System.nanoTime();
    for (Exchange<?> e : active.values()) {
      if (e instanceof Command c && c.task.cmdSn == expCmdSn && c.link != null && !c.link.gone) {
        if (now - c.lastRetry < GAP_RETRY_NANOS) return;
        c.lastRetry = now;
        recoveries.incrementAndGet();
        log.info("{}: the target still expects CmdSN {} ({}); retrying it", this, expCmdSn & 0xffffffffL, c);
        c.retry();
        return;
      }
    }
  }

  /**
   * RFC 7143 §11.17, §7.8. From ERL 1 on, a command rejected for a data digest error is retried
   * (same ITT and CmdSN, §7.2.1); a rejected Data-Out is left to the target's recovery R2T or its
   * CRC-error status. At ERL 0 such a Reject leaves only session recovery. Any other Reject
   * fails the request it names.
   */
  private void onReject(Link l, RejectPdu r) {
    ByteBuf header = r.data();
    if (header.readableBytes() < Pdu.BHS_LENGTH) {
      log.warn("{} {}: Reject reason 0x{} without the rejected header", this, l, Integer.toHexString(r.reason()));
      return;
    }
    int rejectedOpcode = header.getByte(header.readerIndex()) & 0x3f;
    int rejectedItt = header.getInt(header.readerIndex() + 16);
    Exchange<?> e = active.get(rejectedItt);
    log.info("{} {}: target rejected opcode 0x{} for ITT 0x{}, reason 0x{}", this, l,
        Integer.toHexString(rejectedOpcode), Integer.toHexString(rejectedItt), Integer.toHexString(r.reason()));
    if (r.reason() == RejectPdu.DATA_DIGEST_ERROR) {
      if (erl() == 0) {
        throw new ScsiTask.ProtocolViolation("target rejected a PDU for a data digest error at ErrorRecoveryLevel 0");
      }
      if (rejectedOpcode == Opcode.SCSI_COMMAND.code && e instanceof Command c && c.link == l) {
        recoveries.incrementAndGet();
        c.lastRetry = System.nanoTime(); // a target ping now would ask for it a second time
        c.retry();
      }
      return;
    }
    if (rejectedOpcode == Opcode.SNACK_REQUEST.code && e instanceof Command c && options.isSessionRecovery()
        && c.task.attempts < MAX_ATTEMPTS) {
      // The target cannot resend what we asked for: start the command over as a new task.
      reissue(c);
      return;
    }
    if (e != null) e.fail(new PduRejectedException(r.reason()));
  }

  /**
   * RFC 7143 §11.9. Logout requested: stop using the connection and log it out once its tasks are
   * done. Connection or session drop: the loss that follows is recovered as any other; the
   * target's Time2Wait and Time2Retain are logged.
   */
  private void onAsyncMessage(Link l, AsyncMessagePdu a) {
    log.info("{} {}: asynchronous message, event {} (parameters {}, {}, {})", this, l, a.asyncEvent(),
        a.parameter1(), a.parameter2(), a.parameter3());
    if (a.asyncEvent() == AsyncMessagePdu.LOGOUT_REQUESTED && !l.draining) {
      l.draining = true;
      logoutIfDrained(l);
    }
  }

  private void logoutIfDrained(Link l) {
    if (l.gone || l.loggedOut) return;
    for (Exchange<?> e : active.values()) {
      if (e.link == l) return;
    }
    l.loggedOut = true;
    boolean last = true;
    for (Link o : links) if (o != l && !o.gone) last = false;
    if (last && !options.isSessionRecovery() && erl() < 2) ending = true;
    int reason = LogoutRequestPdu.CLOSE_CONNECTION;
    Logout logout = new Logout(nextItt(), reason, l.cid, l);
    logout.timer = context.owner().setTimer(options.getCommandTimeoutMillis(), id -> timeout(logout));
    active.put(logout.itt, logout);
    logout.start(cmdSn);
  }

  /** RFC 7143 §4.2.2.1: ExpCmdSN and MaxCmdSN only move forward, and are ignored when MaxCmdSN < ExpCmdSN - 1. */
  private void updateWindow(TargetPdu t) {
    int exp = t.expCmdSn();
    int max = t.maxCmdSn();
    if (Sn.lt(max, exp - 1)) return;
    if (Sn.gt(exp, expCmdSn)) expCmdSn = exp;
    if (Sn.gt(max, maxCmdSn)) maxCmdSn = max;
  }

  /**
   * RFC 7143 §4.2.2.2: a PDU carrying status advances ExpStatSN past its StatSN. From ERL 1 on
   * ExpStatSN stops at a gap (so the target keeps the missing status) and the gap is asked for
   * with a Status SNACK (§7.3.1).
   */
  private void acknowledge(Link l, TargetPdu t) {
    int sn = t.statSn();
    if (erl() == 0) {
      if (Sn.gt(sn + 1, l.expStatSn)) l.expStatSn = sn + 1;
      return;
    }
    if (sn == l.expStatSn) {
      l.expStatSn++;
      while (l.ahead.remove(l.expStatSn)) l.expStatSn++;
      if (Sn.lt(l.statSnackedTo, l.expStatSn)) l.statSnackedTo = l.expStatSn;
    } else if (Sn.gt(sn, l.expStatSn)) {
      l.ahead.add(sn);
      statusGap(l, sn);
    }
  }

  private void statusGap(Link l, int upTo) {
    if (!Sn.lt(l.statSnackedTo, upTo)) return;
    int from = Sn.gt(l.statSnackedTo, l.expStatSn) ? l.statSnackedTo : l.expStatSn;
    l.statSnackedTo = upTo;
    log.info("{} {}: StatSN {}..{} missing; Status SNACK", this, l, from, upTo - 1);
    l.write(statusSnack(l, from, upTo - from));
  }

  /** RFC 7143 §11.16: a Status SNACK names StatSNs; ITT and TTT are reserved. */
  private static SnackRequestPdu statusSnack(Link l, int begRun, int runLength) {
    SnackRequestPdu s = new SnackRequestPdu();
    s.type(SnackRequestPdu.STATUS);
    s.itt(RESERVED_TAG);
    s.ttt(RESERVED_TAG).expStatSn(l.expStatSn);
    s.run(begRun, runLength);
    return s;
  }

  // ---- connection loss and recovery ----

  private void onLinkClosed(Link l, ConnectionClosedException cause) {
    l.gone = true;
    links.remove(l);
    updateView();
    if (closed != null || relogging) return;
    List<Command> orphans = new ArrayList<>();
    List<Exchange<?>> others = new ArrayList<>();
    for (Exchange<?> e : active.values()) {
      if (e.link != l) continue;
      if (e instanceof Command c) {
        orphans.add(c);
      } else if (!(e instanceof Logout && e.promise.future().isComplete())) {
        others.add(e);
      }
    }
    orphans.sort(Comparator.comparingInt((Command c) -> c.task.cmdSn - cmdSn));
    if (ending || targetName == null) {
      if (links.isEmpty()) {
        failAll(cause);
      } else {
        for (Exchange<?> e : others) e.fail(cause);
        for (Command c : orphans) c.fail(cause);
      }
      return;
    }
    for (Exchange<?> e : others) e.fail(cause);
    if (l.loggedOut && orphans.isEmpty()) {
      // A logout the target asked for: keep the connection count.
      if (!links.isEmpty()) {
        addConnection(nextCid++, null);
      } else {
        sessionRecovery(cause);
      }
      return;
    }
    for (Command c : orphans) c.link = null;
    if (erl() >= 2) {
      connectionRecovery(l, orphans, cause);
    } else {
      sessionRecovery(cause);
    }
  }

  /**
   * RFC 7143 §7.2.2, §7.2.3 (ERL 2): after DefaultTime2Wait, free the failed CID (logout with
   * reason "remove the connection for recovery" on a live connection, or reinstatement of the CID
   * on a new one), then TASK REASSIGN each of its tasks. The target keeps them for
   * DefaultTime2Retain; past that the session recovery fallback applies.
   */
  private void connectionRecovery(Link failed, List<Command> orphans, ConnectionClosedException cause) {
    recoveries.incrementAndGet();
    long deadline = System.nanoTime() + (params.defaultTime2Wait() + params.defaultTime2Retain()) * 1_000_000_000L
        + options.getLoginTimeoutMillis() * 1_000_000L;
    log.info("{}: connection CID {} lost ({}); recovering {} task(s) after {} s", this, failed.cid,
        cause.getMessage(), orphans.size(), params.defaultTime2Wait());
    context.owner().setTimer(Math.max(1, params.defaultTime2Wait() * 1000L),
        id -> recoverConnection(failed, orphans, deadline, cause));
  }

  private void recoverConnection(Link failed, List<Command> orphans, long deadline, ConnectionClosedException cause) {
    if (closed != null || relogging) return;
    Link other = pickLink();
    Future<Link> ready;
    if (other != null) {
      Logout logout = new Logout(nextItt(), LogoutRequestPdu.REMOVE_FOR_RECOVERY, failed.cid, other);
      ready = register(logout).map(v -> {
        addConnection(nextCid++, null);
        return other;
      });
    } else {
      ready = addConnection(failed.cid, failed);
    }
    ready.onComplete(ar -> {
      if (closed != null || relogging) return;
      if (ar.succeeded()) {
        for (Command c : orphans) reassign(ar.result(), c);
      } else if (System.nanoTime() - deadline < 0) {
        context.owner().setTimer(RETRY_DELAY_MILLIS, id -> recoverConnection(failed, orphans, deadline, cause));
      } else if (options.isSessionRecovery()) {
        sessionRecovery(cause);
      } else {
        for (Command c : orphans) c.fail(cause);
        if (links.isEmpty()) failAll(cause);
      }
    });
  }

  /** A TASK REASSIGN that got no answer, tried again on a live connection (see {@link #reassign}). */
  private void reassignLater(Command c) {
    if (closed != null || relogging || active.get(c.itt) != c || c.link != null) return;
    Link l = pickLink();
    if (l == null) {
      context.owner().setTimer(RETRY_DELAY_MILLIS, id -> reassignLater(c));
      return;
    }
    reassign(l, c);
  }

  /** RFC 7143 §11.5.1 TASK REASSIGN: the task moves to {@code to}; if the target cannot, it starts over. */
  private void reassign(Link to, Command c) {
    if (active.get(c.itt) != c || c.link != null) return;
    TaskManagement tmf = new TaskManagement(nextItt(), TaskMgmtRequestPdu.TASK_REASSIGN, c.task.lun, c.itt);
    tmf.refCmdSn = c.task.cmdSn;
    tmf.expDataSn = c.task.isRead() ? c.task.expDataSn() : 0;
    tmf.link = to;
    register(tmf).onComplete(ar -> {
      if (active.get(c.itt) != c) return;
      if (ar.succeeded() && ar.result() == TaskMgmtResponsePdu.FUNCTION_COMPLETE && !to.gone) {
        c.link = to;
        c.task.reassigned();
        log.debug("{}: {} reassigned to CID {}", this, c, to.cid);
      } else if (ar.succeeded() && ar.result() == TaskMgmtResponsePdu.TASK_DOES_NOT_EXIST && !to.gone) {
        // The target never received the command (it was lost with the connection): send it again
        // with the same ITT and CmdSN (RFC 7143 §6.2.1), which also fills the target's CmdSN gap.
        log.debug("{}: {} unknown to the target; retrying it on CID {}", this, c, to.cid);
        c.link = to;
        c.retry();
      } else if (ar.failed()) {
        // No answer: the connection that carried the TASK REASSIGN was lost too. Whether the
        // target holds the task is unknown, so it keeps its ITT and CmdSN — a new CmdSN would leave
        // a hole that stalls every later command if the target never received it (RFC 7143
        // §4.2.2.1) — and is reassigned again once a connection is up; its timeout bounds this.
        log.debug("{}: {} not reassigned ({}); trying again on the next connection", this, c,
            ar.cause().getMessage());
        context.owner().setTimer(RETRY_DELAY_MILLIS, id -> reassignLater(c));
      } else if (c.task.attempts < MAX_ATTEMPTS) {
        log.info("{}: {} not reassigned ({}); sending it as a new task", this, c, "response " + ar.result());
        to.connection.taskDone(c.itt); // iSER: the buffers the TMF advertised
        reissue(c);
      } else {
        c.fail(new ConnectionClosedException(c + " could not be recovered", null));
      }
    });
  }

  /**
   * Session recovery (RFC 7143 §7.1.4.3), the initiator's remedy at ERL 0 and 1 when
   * {@link InitiatorOptions#isSessionRecovery()} is on: drop every connection, wait
   * DefaultTime2Wait, log in again with the same ISID and TSIH 0 (the target reinstates, ending
   * the old session's tasks, §6.3.5) and send every unfinished command again as a new task.
   */
  private void sessionRecovery(ConnectionClosedException cause) {
    if (!options.isSessionRecovery()) {
      failAll(cause);
      return;
    }
    relogging = true;
    recoveries.incrementAndGet();
    for (Link l : new ArrayList<>(links)) {
      l.gone = true;
      l.connection.closeWith(cause);
    }
    links.clear();
    updateView();
    List<Command> commands = new ArrayList<>();
    List<Exchange<?>> others = new ArrayList<>();
    for (Exchange<?> e : active.values()) {
      if (e instanceof Command c) {
        commands.add(c);
      } else {
        others.add(e);
      }
    }
    for (Exchange<?> e : others) e.fail(cause);
    commands.sort(Comparator.comparingInt((Command c) -> c.task.cmdSn - cmdSn));
    for (int i = commands.size() - 1; i >= 0; i--) {
      Command c = commands.get(i);
      // Not limited by MAX_ATTEMPTS: a command need not have caused the loss; its timeout bounds it.
      active.remove(c.itt, c);
      c.task.reset();
      c.task.attempts++;
      c.link = null;
      waiting.addFirst(c);
    }
    outstanding = active.size() + waiting.size() + immediate.size();
    long deadline = System.nanoTime() + (params.defaultTime2Wait() + params.defaultTime2Retain()) * 1_000_000_000L
        + options.getLoginTimeoutMillis() * 1_000_000L;
    log.info("{}: session lost ({}); logging in again after {} s to re-issue {} command(s)", this,
        cause.getMessage(), params.defaultTime2Wait(), commands.size());
    context.owner().setTimer(Math.max(1, params.defaultTime2Wait() * 1000L), id -> relogin(deadline, cause));
  }

  private void relogin(long deadline, ConnectionClosedException cause) {
    if (closed != null) return;
    connector.open(context)
        .compose(c -> new LoginExchange(c, options, LoginExchange.Request.leading(targetName, isid)).start()
            .map(result -> {
              relogging = false;
              adopt(result);
              attach(c, result);
              log.info("{}: logged in again", this);
              return this;
            }))
        .onComplete(ar -> {
          if (ar.succeeded()) {
            pump();
            openConnections();
          } else if (System.nanoTime() - deadline < 0 && !ending) {
            context.owner().setTimer(RETRY_DELAY_MILLIS, id -> relogin(deadline, cause));
          } else {
            relogging = false;
            failAll(new ConnectionClosedException("session recovery failed: " + ar.cause().getMessage(), cause));
          }
        });
  }

  private void failAll(ConnectionClosedException cause) {
    if (closed != null) return;
    closed = cause;
    List<Exchange<?>> all = new ArrayList<>(active.values());
    all.addAll(waiting);
    all.addAll(immediate);
    active.clear();
    waiting.clear();
    immediate.clear();
    for (Exchange<?> e : all) {
      if (e instanceof Logout && e.promise.future().isComplete()) continue;
      e.fail(cause);
    }
    for (Link l : new ArrayList<>(links)) l.connection.closeWith(cause);
    outstanding = 0;
  }

  @Override
  public String toString() {
    return "session ISID 0x" + Long.toHexString(isid) + " TSIH " + tsih
        + (targetName == null ? " (discovery)" : " to " + targetName);
  }
}
