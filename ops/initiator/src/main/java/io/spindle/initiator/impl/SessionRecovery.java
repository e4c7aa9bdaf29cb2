package io.spindle.initiator.impl;

import io.spindle.initiator.ConnectionClosedException;
import io.spindle.initiator.DiscoveredTarget;
import io.spindle.initiator.RequestTimeoutException;
import io.spindle.iscsi.pdu.LogoutRequestPdu;
import io.spindle.iscsi.pdu.TaskMgmtRequestPdu;
import io.spindle.iscsi.pdu.TaskMgmtResponsePdu;
import io.spindle.iscsi.text.TextKeys.Pair;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a session does when a connection is lost (RFC 7143 §7): connection recovery with TASK
 * REASSIGN at ERL 2 — on the connection's own portal while another connection of the session
 * lives, else on the next portal {@link Portals} picks (another node of the target's portal
 * group, RFC 7143 §6.3) — or session recovery; a liveness watch that declares a connection lost
 * when the target stops answering; and the portal list from the target's SendTargets answer.
 * Runs on the session's context.
 */
final class SessionRecovery {

  private static final Logger log = LoggerFactory.getLogger(SessionImpl.class);
  static final long RETRY_DELAY_MILLIS = 500;

  private final SessionImpl s;
  /** Recoveries that moved the session to another portal. */
  private int failovers;

  SessionRecovery(SessionImpl session) {
    this.s = session;
  }

  int failovers() {
    return failovers;
  }

  /** One connection recovery, followed until its first reassigned command completes, for its log line. */
  final class Failover {
    final Portals.Portal from;
    final String cause;
    final long lostAt = System.nanoTime();
    final int tasks;
    /** The portal being tried, and every portal tried so far. */
    Portals.Portal to;
    final Set<Portals.Portal> tried = new HashSet<>();
    long loggedInAt;
    int pending;
    int continued;
    int retried;
    int reissued;
    long firstDoneAt;
    boolean reported;

    Failover(Portals.Portal from, String cause, int tasks) {
      this.from = from;
      this.cause = cause;
      this.tasks = tasks;
    }

    void answered() {
      pending--;
      report();
    }

    /**
     * One line per recovery, once every TASK REASSIGN is answered and the first reassigned or
     * retried command has completed (or none was left to complete).
     */
    void report() {
      if (reported || loggedInAt == 0 || pending > 0) return;
      if (firstDoneAt == 0 && continued + retried > 0) return;
      reported = true;
      String first = firstDoneAt == 0 ? "" : ", first completed " + millis(firstDoneAt - lostAt) + " ms after the loss";
      log.info("{}: {} {} lost ({}); continues on {}: logged in after {} ms, {} task(s): {} reassigned, {} retried"
          + " (same ITT and CmdSN), {} re-issued{}", s, from.equals(to) ? "connection recovery:" : "failover:", from,
          cause, to, millis(loggedInAt - lostAt), tasks, continued, retried, reissued, first);
    }

    /** Its tasks were lost again (with the connection it moved them to) before one completed. */
    void superseded() {
      if (reported) return;
      reported = true;
      log.info("{}: {} {} lost ({}); {}: connection lost again after {} ms, before a moved command completed", s,
          to == null || from.equals(to) ? "connection recovery:" : "failover:", from, cause,
          to == null ? "no portal answered" : "continued on " + to, millis(System.nanoTime() - lostAt));
    }
  }

  private static long millis(long nanos) {
    return nanos / 1_000_000L;
  }

  /** A reassigned or retried command completed. */
  void completed(CommandExchange c) {
    Failover f = c.failover;
    if (f == null) return;
    c.failover = null;
    if (f.firstDoneAt == 0) f.firstDoneAt = System.nanoTime();
    f.report();
  }

  // ---- connection loss ----

  void onLinkClosed(Link l, ConnectionClosedException cause) {
    l.gone = true;
    s.links.remove(l);
    s.updateView();
    if (s.closed != null || s.relogging) return;
    List<CommandExchange> orphans = new ArrayList<>();
    List<Exchange<?>> others = new ArrayList<>();
    for (Exchange<?> e : s.active.values()) {
      if (e.link != l) continue;
      if (e instanceof CommandExchange c) {
        orphans.add(c);
      } else if (!(e instanceof LogoutExchange && e.promise.future().isComplete())) {
        others.add(e);
      }
    }
    orphans.sort(Comparator.comparingInt((CommandExchange c) -> c.task.cmdSn - s.cmdSn()));
    if (s.ending || s.targetName == null) {
      if (s.links.isEmpty()) {
        s.failAll(cause);
      } else {
        for (Exchange<?> e : others) e.fail(cause);
        for (CommandExchange c : orphans) c.fail(cause);
      }
      return;
    }
    for (Exchange<?> e : others) e.fail(cause);
    if (l.loggedOut && orphans.isEmpty()) {
      // A logout the target asked for: keep the connection count.
      if (!s.links.isEmpty()) {
        s.addConnection(s.nextCid++, null, s.links.get(0).portal);
      } else {
        sessionRecovery(l, cause);
      }
      return;
    }
    for (CommandExchange c : orphans) c.link = null;
    if (s.erl() >= 2) {
      connectionRecovery(l, orphans, cause);
    } else {
      sessionRecovery(l, cause);
    }
  }

  /** The latest moment a recovery may still succeed: the target keeps the tasks that long (RFC 7143 §13.15, §13.16). */
  private long deadline() {
    return System.nanoTime() + (s.params.defaultTime2Wait() + s.params.defaultTime2Retain()) * 1_000_000_000L
        + s.options.getLoginTimeoutMillis() * 1_000_000L;
  }

  /**
   * RFC 7143 §7.2.2, §7.2.3 (ERL 2): after DefaultTime2Wait, free the failed CID (logout with
   * reason "remove the connection for recovery" on a live connection, or reinstatement of the CID
   * on a new one — on the next portal when no connection of the session is left), then TASK
   * REASSIGN each of its tasks. The target keeps them for DefaultTime2Retain; past that the
   * session recovery fallback applies.
   */
  private void connectionRecovery(Link failed, List<CommandExchange> orphans, ConnectionClosedException cause) {
    s.recoveries.incrementAndGet();
    Failover f = new Failover(failed.portal, cause.getMessage(), orphans.size());
    for (CommandExchange c : orphans) {
      if (c.failover != null && c.failover != f) c.failover.superseded();
      c.failover = f;
    }
    long deadline = deadline();
    log.info("{}: connection CID {} on {} lost ({}); recovering {} task(s) after {} s", s, failed.cid, failed.portal,
        cause.getMessage(), orphans.size(), s.params.defaultTime2Wait());
    s.context.owner().setTimer(Math.max(1, s.params.defaultTime2Wait() * 1000L),
        id -> recoverConnection(failed, orphans, deadline, cause, f));
  }

  private void recoverConnection(Link failed, List<CommandExchange> orphans, long deadline,
      ConnectionClosedException cause, Failover f) {
    if (s.closed != null || s.relogging) return;
    Link other = s.pickLink();
    Future<Link> ready;
    if (other != null) {
      f.to = other.portal;
      LogoutExchange logout = new LogoutExchange(s, s.nextItt(), LogoutRequestPdu.REMOVE_FOR_RECOVERY, failed.cid,
          other);
      ready = s.register(logout).map(v -> {
        s.addConnection(s.nextCid++, null, other.portal);
        return other;
      });
    } else {
      // No connection of the session is left, so its portal (its node) may be gone: RFC 7143 §6.3,
      // the session continues through any portal of its portal group.
      if (f.to == null) {
        s.portals.failed(failed.portal, f.lostAt);
        f.to = s.portals.next(failed.portal);
      }
      f.tried.add(f.to);
      ready = s.addConnection(failed.cid, failed, f.to);
    }
    ready.onComplete(ar -> {
      if (s.closed != null || s.relogging) return;
      if (ar.succeeded()) {
        Link to = ar.result();
        s.portals.succeeded(to.portal);
        f.to = to.portal;
        f.loggedInAt = System.nanoTime();
        if (!to.portal.equals(failed.portal)) failovers++;
        f.pending = orphans.size();
        for (CommandExchange c : orphans) reassign(to, c, f);
        f.report();
        if (other == null) refreshPortals();
      } else if (System.nanoTime() - deadline < 0) {
        long delay = RETRY_DELAY_MILLIS;
        if (other == null) {
          s.portals.failed(f.to, System.nanoTime());
          f.to = s.portals.next(f.to);
          // A portal not tried yet in this recovery is tried at once; the second round waits.
          if (!f.tried.contains(f.to)) delay = 1;
        }
        s.context.owner().setTimer(delay, id -> recoverConnection(failed, orphans, deadline, cause, f));
      } else if (s.options.isSessionRecovery()) {
        sessionRecovery(failed, cause);
      } else {
        for (CommandExchange c : orphans) c.fail(cause);
        if (s.links.isEmpty()) s.failAll(cause);
      }
    });
  }

  /** A TASK REASSIGN that got no answer, tried again on a live connection (see {@link #reassign}). */
  private void reassignLater(CommandExchange c, Failover f) {
    if (s.closed != null || s.relogging || s.active.get(c.itt) != c || c.link != null) {
      f.answered();
      return;
    }
    Link l = s.pickLink();
    if (l == null) {
      s.context.owner().setTimer(RETRY_DELAY_MILLIS, id -> reassignLater(c, f));
      return;
    }
    reassign(l, c, f);
  }

  /**
   * RFC 7143 §11.5.1 TASK REASSIGN: the task moves to {@code to}. RFC 7143 §11.6.1: "task does not
   * exist" (1) — the target never received the command — or "not supported" (4, 5): the command
   * is sent again with its original ITT and CmdSN; any other refusal: it starts over as a new task.
   */
  private void reassign(Link to, CommandExchange c, Failover f) {
    if (s.active.get(c.itt) != c || c.link != null) {
      f.answered();
      return;
    }
    TaskManagementExchange tmf = new TaskManagementExchange(s, s.nextItt(), TaskMgmtRequestPdu.TASK_REASSIGN,
        c.task.lun, c.itt);
    tmf.refCmdSn = c.task.cmdSn;
    tmf.expDataSn = c.task.isRead() ? c.task.expDataSn() : 0;
    tmf.link = to;
    s.register(tmf).onComplete(ar -> {
      if (s.active.get(c.itt) != c) {
        f.answered();
        return;
      }
      int response = ar.succeeded() ? ar.result() : -1;
      if (response == TaskMgmtResponsePdu.FUNCTION_COMPLETE && !to.gone) {
        c.link = to;
        c.task.reassigned();
        f.continued++;
        log.debug("{}: {} reassigned to CID {}", s, c, to.cid);
      } else if (retriable(response) && !to.gone) {
        // The target does not hold the task (it was lost with the connection, or with the node
        // that had it) or cannot move it: send it again with the same ITT and CmdSN (RFC 7143
        // §6.2.1), which also fills the target's CmdSN gap should it never have received it.
        log.debug("{}: {} not reassigned (response {}); retrying it on CID {}", s, c, response, to.cid);
        c.link = to;
        f.retried++;
        s.recoveries.incrementAndGet();
        c.retry();
      } else if (ar.failed()) {
        // No answer: the connection that carried the TASK REASSIGN was lost too. Whether the
        // target holds the task is unknown, so it keeps its ITT and CmdSN — a new CmdSN would leave
        // a hole that stalls every later command if the target never received it (RFC 7143
        // §4.2.2.1) — and is reassigned again once a connection is up; its timeout bounds this.
        log.debug("{}: {} not reassigned ({}); trying again on the next connection", s, c, ar.cause().getMessage());
        s.context.owner().setTimer(RETRY_DELAY_MILLIS, id -> reassignLater(c, f));
        return;
      } else if (c.task.attempts < SessionImpl.MAX_ATTEMPTS) {
        log.info("{}: {} not reassigned (response {}); sending it as a new task", s, c, response);
        to.connection.taskDone(c.itt); // iSER: the buffers the TMF advertised
        f.reissued++;
        s.reissue(c);
      } else {
        c.fail(new ConnectionClosedException(c + " could not be recovered", null));
      }
      f.answered();
    });
  }

  /** RFC 7143 §11.6.1 responses after which a TASK REASSIGN's command is retried as it was. */
  static boolean retriable(int response) {
    return response == TaskMgmtResponsePdu.TASK_DOES_NOT_EXIST
        || response == TaskMgmtResponsePdu.REASSIGNMENT_NOT_SUPPORTED
        || response == TaskMgmtResponsePdu.FUNCTION_NOT_SUPPORTED;
  }

  // ---- session recovery ----

  /**
   * Session recovery (RFC 7143 §7.1.4.3), the initiator's remedy at ERL 0 and 1 when
   * {@link io.spindle.initiator.InitiatorOptions#isSessionRecovery()} is on: drop every
   * connection, wait DefaultTime2Wait, log in again with the same ISID and TSIH 0 (the target
   * reinstates, ending the old session's tasks, §6.3.5) on the next portal, and send every
   * unfinished command again as a new task.
   */
  private void sessionRecovery(Link lost, ConnectionClosedException cause) {
    if (!s.options.isSessionRecovery()) {
      s.failAll(cause);
      return;
    }
    s.relogging = true;
    s.recoveries.incrementAndGet();
    for (Link l : new ArrayList<>(s.links)) {
      l.gone = true;
      l.connection.closeWith(cause);
    }
    s.links.clear();
    s.updateView();
    int commands = s.requeueAll(cause);
    long deadline = deadline();
    s.portals.failed(lost.portal, System.nanoTime());
    Portals.Portal next = s.portals.next(lost.portal);
    log.info("{}: session lost on {} ({}); logging in again on {} after {} s to re-issue {} command(s)", s,
        lost.portal, cause.getMessage(), next, s.params.defaultTime2Wait(), commands);
    Set<Portals.Portal> tried = new HashSet<>();
    s.context.owner().setTimer(Math.max(1, s.params.defaultTime2Wait() * 1000L),
        id -> relogin(lost.portal, next, tried, deadline, cause));
  }

  private void relogin(Portals.Portal lost, Portals.Portal portal, Set<Portals.Portal> tried, long deadline,
      ConnectionClosedException cause) {
    if (s.closed != null) return;
    tried.add(portal);
    s.connector.open(s.context, portal)
        .compose(c -> new LoginExchange(c, s.options, LoginExchange.Request.leading(s.targetName, s.isid)).start()
            .map(result -> {
              s.relogging = false;
              s.adopt(result);
              s.attach(c, result, portal);
              log.info("{}: logged in again on {}", s, portal);
              return s;
            }))
        .onComplete(ar -> {
          if (ar.succeeded()) {
            s.portals.succeeded(portal);
            if (!portal.equals(lost)) failovers++;
            s.pump();
            s.openConnections();
          } else if (System.nanoTime() - deadline < 0 && !s.ending) {
            s.portals.failed(portal, System.nanoTime());
            Portals.Portal next = s.portals.next(portal);
            long delay = tried.contains(next) ? RETRY_DELAY_MILLIS : 1;
            s.context.owner().setTimer(delay, id -> relogin(lost, next, tried, deadline, cause));
          } else {
            s.relogging = false;
            s.failAll(new ConnectionClosedException("session recovery failed: " + ar.cause().getMessage(), cause));
          }
        });
  }

  // ---- liveness ----

  /**
   * With {@link io.spindle.initiator.InitiatorOptions#getLivenessTimeoutMillis()} set: a
   * connection with requests outstanding on which the target sends nothing for that long is
   * reset (TCP RST: a hung node that runs again must not find our queued PDUs) and recovered as a
   * lost one (a hung node keeps its sockets open, so only silence shows it); an idle connection quiet for half of it gets a NOP-Out ping (RFC 7143 §11.18), which the
   * same rule then covers.
   */
  void startLivenessWatch() {
    long timeout = s.options.getLivenessTimeoutMillis();
    if (timeout <= 0) return;
    s.context.owner().setPeriodic(Math.max(50, timeout / 4), id -> {
      if (s.closed != null) {
        s.context.owner().cancelTimer(id);
      } else {
        checkLiveness(timeout);
      }
    });
  }

  private void checkLiveness(long timeoutMillis) {
    long now = System.nanoTime();
    long limit = timeoutMillis * 1_000_000L;
    for (Link l : new ArrayList<>(s.links)) {
      if (l.gone || l.loggedOut) continue;
      long quiet = now - l.lastReceived;
      boolean expecting = l.pingOut || hasWork(l);
      if (expecting && quiet > limit) {
        log.warn("{} {} on {}: no answer from the target for {} ms; dropping the connection", s, l, l.portal,
            millis(quiet));
        l.connection.abortWith(new RequestTimeoutException("no answer from the target for " + millis(quiet) + " ms"));
      } else if (!expecting && quiet > limit / 2) {
        l.pingOut = true;
        NopExchange ping = new NopExchange(s, s.nextItt());
        ping.link = l;
        s.register(ping).onComplete(ar -> l.pingOut = false);
      }
    }
  }

  private boolean hasWork(Link l) {
    for (Exchange<?> e : s.active.values()) {
      if (e.link == l && !(e instanceof LogoutExchange && e.promise.future().isComplete())) return true;
    }
    return false;
  }

  // ---- portals ----

  /**
   * With {@link io.spindle.initiator.InitiatorOptions#isPortalDiscovery()}: Text SendTargets with
   * an empty value (RFC 7143 §12.3: the session's own target) and the portals of the session's
   * portal group it reports become the session's portal list after the ones the user gave.
   */
  Future<Void> refreshPortals() {
    if (!s.options.isPortalDiscovery() || s.targetName == null) return Future.succeededFuture();
    int tpgt = groupTag();
    return s.text(List.of(new Pair("SendTargets", ""))).map(pairs -> {
      List<Portals.Portal> reported = new ArrayList<>();
      for (DiscoveredTarget t : InitiatorImpl.targets(pairs)) {
        if (!t.name().equals(s.targetName)) continue;
        for (String a : t.addresses()) {
          int tag = Portals.Portal.groupTag(a);
          if (tpgt < 0 || tag < 0 || tag == tpgt) reported.add(Portals.Portal.parse(a));
        }
      }
      if (s.portals.discovered(reported)) log.info("{}: portals {}", s, s.portals);
      return (Void) null;
    }).otherwise(err -> {
      log.info("{}: SendTargets failed ({}); portals stay {}", s, err.getMessage(), s.portals);
      return null;
    });
  }

  /** The TargetPortalGroupTag of the leading login (RFC 7143 §13.9), -1 when the target sent none. */
  private int groupTag() {
    for (Pair p : s.params.targetKeys()) {
      if (p.key().equals("TargetPortalGroupTag")) {
        try {
          return Integer.parseInt(p.value());
        } catch (NumberFormatException e) {
          return -1;
        }
      }
    }
    return -1;
  }
}
