package io.spindle.initiator.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.spindle.initiator.Cdbs;
import io.spindle.initiator.Connection;
import io.spindle.initiator.ConnectionClosedException;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.NegotiatedParameters;
import io.spindle.initiator.PduRejectedException;
import io.spindle.initiator.PendingCommand;
import io.spindle.initiator.RequestTimeoutException;
import io.spindle.initiator.Session;
import io.spindle.iscsi.pdu.AsyncMessagePdu;
import io.spindle.iscsi.pdu.DataInPdu;
import io.spindle.iscsi.pdu.LogoutRequestPdu;
import io.spindle.iscsi.pdu.NopInPdu;
import io.spindle.iscsi.pdu.NopOutPdu;
import io.spindle.iscsi.pdu.Opcode;
import io.spindle.iscsi.pdu.Pdu;
import io.spindle.iscsi.pdu.RejectPdu;
import io.spindle.iscsi.pdu.SnackRequestPdu;
import io.spindle.iscsi.pdu.TargetPdu;
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
 * <p>This class numbers, sends and receives; each exchange is its own class
 * ({@link CommandExchange}, {@link TextExchange}, {@link TaskManagementExchange},
 * {@link LogoutExchange}, {@link NopExchange}); a lost connection is {@link SessionRecovery}'s,
 * which picks the portal to continue on from {@link Portals}.
 *
 * <p>Error recovery (RFC 7143 §7): at ERL 1 and 2 digest errors and sequence gaps are answered
 * with SNACKs (see {@link ScsiTask}) and a Reject of a command for a data digest error with a
 * retry. At ERL 2 a lost connection is recovered inside the session after DefaultTime2Wait, on
 * the next live portal when its own is gone. When that is not possible and
 * {@link InitiatorOptions#isSessionRecovery()} is on, the session logs in again with the same ISID
 * and re-issues its commands.
 */
final class SessionImpl implements Session {

  private static final Logger log = LoggerFactory.getLogger(SessionImpl.class);
  /** RFC 7143 §11.2.1: the reserved tag value. */
  static final int RESERVED_TAG = 0xffffffff;
  /** Times one command may be sent as a new task before its failure is reported. */
  static final int MAX_ATTEMPTS = 5;

  /** Opens connections (TCP or iSER) to a portal on a given context. */
  interface Connector {
    Future<ConnectionImpl> open(ContextInternal context, Portals.Portal portal);
  }

  final ContextInternal context;
  final Connector connector;
  final InitiatorOptions options;
  final String targetName;
  final long isid;
  final Portals portals;
  final SessionRecovery recovery;
  volatile int tsih;
  volatile NegotiatedParameters params;
  private final AtomicInteger ittSource = new AtomicInteger(LoginExchange.LOGIN_ITT + 1);
  final Map<Integer, Exchange<?>> active = new HashMap<>();
  private final ArrayDeque<Exchange<?>> waiting = new ArrayDeque<>();
  private final ArrayDeque<Exchange<?>> immediate = new ArrayDeque<>();
  final List<Link> links = new ArrayList<>();
  private volatile List<Connection> connectionsView = List.of();
  private volatile ConnectionImpl primary;
  private volatile int outstanding;
  final AtomicInteger recoveries = new AtomicInteger();
  private int cmdSn;
  int expCmdSn;
  /** Retry a gap command at most this often. */
  private static final long GAP_RETRY_NANOS = 500_000_000L;
  /** How often the gap watch looks at the target's ExpCmdSN (milliseconds). */
  private static final long GAP_WATCH_MILLIS = 250;
  /** The target's ExpCmdSN at the last gap watch, and whether a NOP-Out ping of the watch is out. */
  private int watchedExpCmdSn;
  private boolean gapPingOut;
  private int maxCmdSn;
  int nextCid;
  private int roundRobin;
  /** Logout or close asked by the user: connection losses are not recovered. */
  boolean ending;
  /** A session re-login is under way: the links it closes are not recovered one by one. */
  boolean relogging;
  ConnectionClosedException closed;

  SessionImpl(ConnectionImpl connection, Portals.Portal portal, Connector connector, Portals portals,
      InitiatorOptions options, String targetName, LoginExchange.Result login) {
    this.context = connection.context();
    this.connector = connector;
    this.options = options;
    this.targetName = targetName;
    this.isid = login.isid();
    this.portals = portals;
    this.recovery = new SessionRecovery(this);
    adopt(login);
    attach(connection, login, portal);
    if (targetName != null && erl() >= 1) {
      context.owner().setPeriodic(GAP_WATCH_MILLIS, id -> {
        if (closed != null) context.owner().cancelTimer(id);
        else watchGap();
      });
    }
    if (targetName != null) recovery.startLivenessWatch();
  }

  /** Session values of a leading login. RFC 7143 §4.2.2.1: the first command carries the login's CmdSN. */
  void adopt(LoginExchange.Result login) {
    this.tsih = login.tsih();
    this.params = login.parameters();
    this.cmdSn = login.cmdSn();
    this.expCmdSn = login.expCmdSn();
    this.maxCmdSn = login.maxCmdSn();
    this.nextCid = login.cid() + 1;
  }

  /** Takes over a logged-in connection: digests and our MaxRecvDataSegmentLength apply from now. */
  Link attach(ConnectionImpl connection, LoginExchange.Result login, Portals.Portal portal) {
    NegotiatedParameters p = login.parameters();
    // RFC 7143 §13.1, §13.12: negotiated digests and data segment limits start after the login phase.
    connection.limits().digests(p.headerDigest(), p.dataDigest()).maxRecvDataSegmentLength(p.maxRecvDataSegmentLength());
    Link l = new Link(this, connection, login.cid(), p, login.expStatSn(), portal);
    if (targetName != null) connection.faults(options.getFaultInjector());
    connection.listener(l);
    links.add(l);
    updateView();
    return l;
  }

  void updateView() {
    List<Connection> view = new ArrayList<>();
    for (Link l : links) view.add(l.connection);
    connectionsView = List.copyOf(view);
    if (!links.isEmpty()) primary = links.get(0).connection;
  }

  /**
   * Opens the further connections the session may have (RFC 7143 §13.2: up to the negotiated
   * MaxConnections, and no more than the options ask for), to the portal of the first one. A
   * connection that fails to log in is logged and left out; the session works with the ones it
   * has. Then, with {@link InitiatorOptions#isPortalDiscovery()}, asks the target for its portals.
   */
  Future<SessionImpl> openConnections() {
    Promise<SessionImpl> done = context.promise();
    context.runOnContext(v -> {
      int want = Math.min(params.maxConnections(), options.getMaxConnections()) - links.size();
      if (targetName == null || links.isEmpty()) {
        done.complete(this);
        return;
      }
      Portals.Portal on = links.get(0).portal;
      List<Future<?>> all = new ArrayList<>();
      for (int i = 0; i < want; i++) all.add(addConnection(nextCid++, null, on));
      all.add(recovery.refreshPortals());
      Future.join(all).onComplete(ar -> done.complete(this));
    });
    return done.future();
  }

  /**
   * Logs in a connection of this session (TSIH set) on {@code portal}: a new CID, or the CID of a
   * failed connection to reinstate it (RFC 7143 §7.2.3: the target logs the old one out implicitly).
   */
  Future<Link> addConnection(int cid, Link failed, Portals.Portal portal) {
    NegotiatedParameters session = params;
    int expStatSn = failed == null ? 0 : failed.expStatSn;
    return connector.open(context, portal).compose(c -> new LoginExchange(c, options,
        new LoginExchange.Request(targetName, isid, tsih, cid, cmdSn, expStatSn, session)).start()
        .map(result -> {
          if (closed != null || relogging) {
            c.close();
            throw new ConnectionClosedException("session ended during the login of CID " + cid, null);
          }
          Link l = attach(c, result, portal);
          log.info("{}: connection CID {} logged in on {}{}", this, cid, portal, failed == null ? "" : " (reinstated)");
          pump();
          return l;
        }))
        .onFailure(err -> log.warn("{}: login of connection CID {} on {} failed: {}", this, cid, portal,
            err.getMessage()));
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
  public int failovers() {
    return recovery.failovers();
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
    return new PendingCommand(itt, onContext(() -> register(new CommandExchange(this, task))));
  }

  @Override
  public Future<Void> nop() {
    int itt = nextItt();
    return onContext(() -> register(new NopExchange(this, itt)));
  }

  @Override
  public Future<Integer> taskManagement(int function, int lun, int refItt) {
    int itt = nextItt();
    return onContext(() -> register(new TaskManagementExchange(this, itt, function, Cdbs.lun(lun), refItt)));
  }

  @Override
  public Future<List<Pair>> text(List<Pair> request) {
    int itt = nextItt();
    return onContext(() -> register(new TextExchange(this, itt, request)));
  }

  @Override
  public Future<Void> logout() {
    int itt = nextItt();
    return onContext(() -> {
      ending = true;
      return register(new LogoutExchange(this, itt, LogoutRequestPdu.CLOSE_SESSION, 0, null));
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

  int nextItt() {
    while (true) {
      int itt = ittSource.getAndIncrement();
      if (itt != RESERVED_TAG && itt != LoginExchange.LOGIN_ITT) return itt;
    }
  }

  /** The next CmdSN, taken at once (a Text continuation, RFC 7143 §11.10). */
  int takeCmdSn() {
    return cmdSn++;
  }

  /** The CmdSN the next command will carry; immediate requests carry it without taking it. */
  int cmdSn() {
    return cmdSn;
  }

  int erl() {
    return params.errorRecoveryLevel();
  }

  // ---- exchanges ----

  <T> Future<T> register(Exchange<T> e) {
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
  void pump() {
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

  Link pickLink() {
    int n = links.size();
    for (int i = 0; i < n; i++) {
      Link l = links.get(Math.floorMod(roundRobin++, n));
      if (!l.gone && !l.draining) return l;
    }
    return null;
  }

  void timeout(Exchange<?> e) {
    e.timer = -1;
    if (active.remove(e.itt, e) || waiting.remove(e) || immediate.remove(e)) {
      e.fail(new RequestTimeoutException(e + " got no answer within " + options.getCommandTimeoutMillis() + " ms"));
      outstanding = active.size() + waiting.size() + immediate.size();
    }
  }

  void done(Exchange<?> e) {
    active.remove(e.itt, e);
    if (e.timer >= 0) context.owner().cancelTimer(e.timer);
    e.timer = -1;
    outstanding = active.size() + waiting.size() + immediate.size();
    if (e.link != null && e.link.draining) logoutIfDrained(e.link);
  }


  /** Sends a command again as a new task (new CmdSN), ahead of everything queued. */
  void reissue(CommandExchange c) {
    recoveries.incrementAndGet();
    active.remove(c.itt, c);
    c.task.reset();
    c.task.attempts++;
    c.link = null;
    waiting.addFirst(c);
    pump();
  }


  /**
   * Session recovery (RFC 7143 §7.1.4.3): every command goes back to the head of the queue, in
   * CmdSN order, to be sent again as a new task; every other request fails with {@code cause}.
   *
   * @return how many commands were put back
   */
  int requeueAll(ConnectionClosedException cause) {
    List<CommandExchange> commands = new ArrayList<>();
    List<Exchange<?>> others = new ArrayList<>();
    for (Exchange<?> e : active.values()) {
      if (e instanceof CommandExchange c) {
        commands.add(c);
      } else {
        others.add(e);
      }
    }
    for (Exchange<?> e : others) e.fail(cause);
    commands.sort(Comparator.comparingInt((CommandExchange c) -> c.task.cmdSn - cmdSn));
    for (int i = commands.size() - 1; i >= 0; i--) {
      CommandExchange c = commands.get(i);
      // Not limited by MAX_ATTEMPTS: a command need not have caused the loss; its timeout bounds it.
      active.remove(c.itt, c);
      c.task.reset();
      c.task.attempts++;
      c.link = null;
      c.failover = null;
      waiting.addFirst(c);
    }
    outstanding = active.size() + waiting.size() + immediate.size();
    return commands.size();
  }

  // ---- receive ----


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
      if (e instanceof CommandExchange c) {
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
    register(new NopExchange(this, nextItt())).onComplete(ar -> {
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
      if (e instanceof CommandExchange c && c.task.cmdSn == expCmdSn && c.link != null && !c.link.gone) {
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
      if (rejectedOpcode == Opcode.SCSI_COMMAND.code && e instanceof CommandExchange c && c.link == l) {
        recoveries.incrementAndGet();
        c.lastRetry = System.nanoTime(); // a target ping now would ask for it a second time
        c.retry();
      }
      return;
    }
    if (rejectedOpcode == Opcode.SNACK_REQUEST.code && e instanceof CommandExchange c && options.isSessionRecovery()
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

  void logoutIfDrained(Link l) {
    if (l.gone || l.loggedOut) return;
    for (Exchange<?> e : active.values()) {
      if (e.link == l) return;
    }
    l.loggedOut = true;
    boolean last = true;
    for (Link o : links) if (o != l && !o.gone) last = false;
    if (last && !options.isSessionRecovery() && erl() < 2) ending = true;
    int reason = LogoutRequestPdu.CLOSE_CONNECTION;
    LogoutExchange logout = new LogoutExchange(this, nextItt(), reason, l.cid, l);
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


  void failAll(ConnectionClosedException cause) {
    if (closed != null) return;
    closed = cause;
    List<Exchange<?>> all = new ArrayList<>(active.values());
    all.addAll(waiting);
    all.addAll(immediate);
    active.clear();
    waiting.clear();
    immediate.clear();
    for (Exchange<?> e : all) {
      if (e instanceof LogoutExchange && e.promise.future().isComplete()) continue;
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
