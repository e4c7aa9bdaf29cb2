package io.spindle.server.iscsi;

import io.spindle.cluster.ClusterNode;
import io.spindle.cluster.SessionState;
import io.spindle.cluster.StateStore;
import io.spindle.iscsi.datamover.DatamoverConnection;
import io.spindle.iscsi.datamover.PortalAddress;
import io.spindle.iscsi.text.TextKeys.Pair;
import io.spindle.iscsi.negotiation.ConnectionParameters;
import io.spindle.iscsi.negotiation.OperationalOptions;
import io.spindle.iscsi.negotiation.SessionParameters;
import io.spindle.server.config.NegotiationOptions;
import io.spindle.server.config.PortalConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The iSCSI layer of one server: targets, portals, and the sessions of every connection. Shared by
 * all event loops, so its registries are concurrent; each session's own state stays on its context.
 */
public final class IscsiService {

  final Vertx vertx;
  private volatile Map<String, IscsiTarget> targets;
  private volatile List<PortalConfig> portals;
  final NegotiationOptions negotiation;
  private final Map<String, IscsiSession> sessionsByKey = new ConcurrentHashMap<>();
  private final Map<Integer, IscsiSession> sessionsByTsih = new ConcurrentHashMap<>();
  private final Map<IscsiConnection, Boolean> connections = new ConcurrentHashMap<>();
  private final AtomicInteger nextTsih = new AtomicInteger(1);
  private volatile boolean stopping;
  private volatile IscsiObserver observer = IscsiObserver.NONE;
  private final StateStore stateStore;
  /** This node in its cluster; null standalone. */
  private final ClusterNode cluster;

  private static final Logger log = LoggerFactory.getLogger("io.spindle.iscsi");
  private volatile LoginPolicy loginPolicy = LoginPolicy.open();
  /** ACL entries' LUN views and their targets, kept while a session uses a view (for {@link #sessionsUsing}). */
  private final Map<IscsiTarget, IscsiTarget> viewBases = Collections.synchronizedMap(new WeakHashMap<>());
  /** CHAP challenges (RFC 1994 §2.3: unpredictable); SecureRandom is safe to share between threads. */
  final SecureRandom random = new SecureRandom();
  /** Connections still logging in, by source address, and in all. */
  private final Map<String, Integer> loggingIn = new ConcurrentHashMap<>();
  private final AtomicInteger loggingInTotal = new AtomicInteger();
  private final AtomicLong refused = new AtomicLong();
  /** Connections over the login caps waiting to be answered 0x0302 (RefusedLogin). */
  private final AtomicInteger refusing = new AtomicInteger();
  private final Map<String, Integer> refusingByHost = new ConcurrentHashMap<>();
  private final AtomicInteger reservedInUse = new AtomicInteger();
  private final LoginThrottle throttle = new LoginThrottle(io.spindle.server.config.LoginLimits.defaults());

  public IscsiService(Vertx vertx, Map<String, IscsiTarget> targets, List<PortalConfig> portals,
      NegotiationOptions negotiation) {
    this(vertx, targets, portals, negotiation, null);
  }

  /**
   * A service whose sessions live in {@code cluster}'s state store (cluster-unique TSIHs, ERL 2
   * state replicated); standalone (in-memory store, local TSIHs) when it is null.
   */
  public IscsiService(Vertx vertx, Map<String, IscsiTarget> targets, List<PortalConfig> portals,
      NegotiationOptions negotiation, ClusterNode cluster) {
    this.cluster = cluster;
    this.stateStore = cluster == null ? StateStore.inMemory() : cluster.stateStore();
    this.vertx = vertx;
    this.targets = Map.copyOf(targets);
    this.portals = List.copyOf(portals);
    this.negotiation = negotiation;
  }

  /** Sets who hears about logins, commands and errors (metrics); {@link IscsiObserver#NONE} by default. */
  public void observer(IscsiObserver o) {
    this.observer = o == null ? IscsiObserver.NONE : o;
  }

  /** Where ErrorRecoveryLevel 2 state goes (in memory on a single node). */
  public StateStore stateStore() {
    return stateStore;
  }

  /** This node's cluster membership, or null standalone. */
  public ClusterNode cluster() {
    return cluster;
  }

  /** This node's name in its cluster ("local" standalone). */
  String node() {
    return cluster == null ? "local" : cluster.node();
  }

  /**
   * Reserves a TSIH for a new session (RFC 7143 §11.12.7: non-zero, unique). Standalone the
   * local registry decides, at once; in a cluster a TSIH is the key of the session's entry in the
   * store, created before the final Login Response — {@code state} gives the entry for a candidate.
   * Completes with 0 when none could be had.
   */
  private Future<Integer> reserveTsih(java.util.function.IntFunction<SessionState> state, SessionParameters params) {
    if (cluster == null) return Future.succeededFuture(allocateTsih());
    return reserveTsih(state, SessionReplicator.ttlMillis(params), 0);
  }

  private Future<Integer> reserveTsih(java.util.function.IntFunction<SessionState> state, long ttl, int attempt) {
    if (attempt == 16) return Future.succeededFuture(0);
    // Random candidates: nodes allocating at once rarely try the same one; the store decides.
    int t = 1 + random.nextInt(65535);
    if (sessionsByTsih.containsKey(t)) return reserveTsih(state, ttl, attempt + 1);
    return stateStore.create(state.apply(t), ttl).compose(won -> won ? Future.succeededFuture(t)
        : reserveTsih(state, ttl, attempt + 1));
  }

  /**
   * The portals SendTargets names (RFC 7143 §12.3): this node's, then those every other live
   * member of the cluster published. A member Hazelcast removed is gone from the list.
   */
  List<PortalConfig> advertisedPortals() {
    if (cluster == null) return portals;
    List<PortalConfig> all = new ArrayList<>(portals);
    for (ClusterNode.Portal p : cluster.portals()) {
      if (p.node().equals(cluster.node())) continue;
      all.add(new PortalConfig(new PortalAddress(p.host(), p.port()), p.transport(), p.portalGroupTag(),
          new io.vertx.core.json.JsonObject()));
    }
    return all;
  }

  /** SendTargets (RFC 7143 §12.3): All on discovery sessions, the session's own target otherwise. */
  void sendTargets(IscsiSession session, String value, List<Pair> out, String localHost) {
    List<IscsiTarget> list = new ArrayList<>();
    if (value.equals("All") && session.type == IscsiSession.Type.DISCOVERY) {
      list.addAll(new java.util.TreeMap<>(targets()).values());
    } else if (value.isEmpty() || value.equals("All")) {
      if (session.target != null) list.add(session.target);
    } else {
      IscsiTarget t = target(value);
      if (t != null && (session.target == null || session.target == t)) list.add(t);
    }
    // Issue 5: an initiator is shown only the targets whose ACL admits it.
    list.removeIf(t -> !visible(t, session.initiatorName));
    for (IscsiTarget t : list) {
      out.add(new Pair("TargetName", t.name()));
      for (PortalConfig p : advertisedPortals()) {
        String host = p.address().host();
        if (host.equals("0.0.0.0") || host.equals("::")) host = localHost;
        String addr = (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + p.address().port();
        out.add(new Pair("TargetAddress", addr + "," + p.portalGroupTag()));
      }
    }
  }

  /**
   * A new session with a TSIH of its own (RFC 7143 §11.12.7: non-zero, unique). In a cluster the
   * TSIH is reserved in the shared store together with the session's identity and parameters,
   * before the final Login Response: it is the first thing another node needs.
   */
  Future<IscsiSession> newSession(java.util.function.IntFunction<IscsiSession> session, SessionParameters params) {
    return reserveTsih(t -> SessionReplicator.state(session.apply(t), node()), params).compose(tsih -> {
      if (tsih == 0) return Future.failedFuture("no free TSIH");
      IscsiSession s = session.apply(tsih);
      if (cluster != null) s.replica = new SessionReplicator(s, stateStore, SessionReplicator.state(s, node()), true);
      return Future.succeededFuture(s);
    });
  }

  /** Tells the cluster, now and every second, what this node serves (portals, sessions). */
  public void publishToCluster() {
    if (cluster == null) return;
    Runnable publish = () -> {
      List<ClusterNode.Portal> ps = new ArrayList<>();
      for (PortalConfig p : portals) {
        ps.add(new ClusterNode.Portal(cluster.node(), p.address().host(), p.address().port(), p.portalGroupTag(),
            p.transport()));
      }
      List<Integer> tsihs = new ArrayList<>(new java.util.TreeSet<>(sessionsByTsih.keySet()));
      cluster.publish(ps, tsihs);
    };
    vertx.executeBlocking(() -> {
      publish.run();
      return null;
    }, false);
    vertx.setPeriodic(1000, id -> {
      if (stopping) vertx.cancelTimer(id);
      else vertx.executeBlocking(() -> {
        publish.run();
        return null;
      }, false);
    });
  }

  IscsiObserver observer() {
    return observer;
  }

  /** Takes a new transport connection; called on the connection's own context. */
  public void accept(DatamoverConnection dm) {
    if (stopping) {
      dm.terminate();
      return;
    }
    // Logins in progress are bounded per source address and in all, before anything is kept for
    // the connection: a peer that opens connections and stalls (or sends garbage) holds a slot
    // only until it fails or negotiation.loginTimeout passes, and cannot crowd out other hosts.
    String host = dm.remoteAddress().host();
    if (!takeLoginSlot(host)) {
      long n = refused.incrementAndGet();
      if ((n & (n - 1)) == 0) { // the 1st, 2nd, 4th, ... refusal: a flood must not flood the log too
        log.warn("refusing connection peer={}: too many logins in progress (login.maxPerAddress {}, login.maxTotal {});"
            + " {} refused so far", dm.remoteAddress(), loginPolicy.limits().maxPerAddress(),
            loginPolicy.limits().maxTotal(), n);
      }
      // A Login Request is answered with 0x0302 (RefusedLogin), as long as not too many wait for one:
      // login.maxTotal in all, RefusedLogin.PER_ADDRESS per address, so that a flood from a few
      // addresses cannot take every wait either.
      if (takeCounted(refusingByHost, host, RefusedLogin.PER_ADDRESS, refusing, loginPolicy.limits().maxTotal())) {
        new RefusedLogin(this, dm, () -> {
          refusing.decrementAndGet();
          refusingByHost.computeIfPresent(host, (h, k) -> k <= 1 ? null : k - 1);
        });
      } else {
        dm.terminate();
      }
      return;
    }
    IscsiConnection c = new IscsiConnection(this, dm);
    c.loginSlot = host;
    connections.put(c, Boolean.TRUE);
  }

  /**
   * Logs a connection over the general caps in after all, on a slot of the share kept for
   * initiators an ACL names (issue 21), when its Login Request declared such a name.
   *
   * @return the connection, or null when the name is in no ACL or that share is full too
   */
  IscsiConnection admitReserved(DatamoverConnection dm, String initiator) {
    if (initiator == null || !loginPolicy.namedInAcl(initiator)) return null;
    if (reservedInUse.incrementAndGet() > loginPolicy.limits().reserved()) {
      reservedInUse.decrementAndGet();
      return null;
    }
    IscsiConnection c = new IscsiConnection(this, dm);
    c.reservedSlot = true;
    connections.put(c, Boolean.TRUE);
    return c;
  }

  private boolean takeLoginSlot(String host) {
    var limits = loginPolicy.limits();
    // The reserved share is not for connections whose initiator is not known yet.
    return takeCounted(loggingIn, host, limits.maxPerAddress(), loggingInTotal, limits.maxTotal() - limits.reserved());
  }

  /** Counts one more for {@code host} and in {@code total}, unless either is at its cap. */
  private static boolean takeCounted(Map<String, Integer> byHost, String host, int perHost, AtomicInteger total,
      int max) {
    if (total.incrementAndGet() > max) {
      total.decrementAndGet();
      return false;
    }
    boolean[] ok = {false};
    byHost.compute(host, (h, n) -> {
      int count = n == null ? 0 : n;
      if (count >= perHost) return n;
      ok[0] = true;
      return count + 1;
    });
    if (!ok[0]) total.decrementAndGet();
    return ok[0];
  }

  /** The connection's login ended (full feature phase, or closed); on the connection's context. */
  void loginEnded(IscsiConnection c) {
    if (c.reservedSlot) {
      c.reservedSlot = false;
      reservedInUse.decrementAndGet();
    }
    String host = c.loginSlot;
    if (host == null) return;
    c.loginSlot = null;
    loggingInTotal.decrementAndGet();
    loggingIn.computeIfPresent(host, (h, n) -> n <= 1 ? null : n - 1);
  }

  /** Connections logging in now (for tests and the admin API). */
  public int loginsInProgress() {
    return loggingInTotal.get();
  }

  /**
   * Sets who may log in to what (ACLs, CHAP, discovery) and the login limits; logins already under
   * way finish under the policy they started with, sessions are not affected.
   */
  public void loginPolicy(LoginPolicy p) {
    viewBases.putAll(p.viewBases());
    this.loginPolicy = p;
    throttle.limits(p.limits());
  }

  /** The portal group tag of the portal listening on {@code localPort} (RFC 7143 §13.9). */
  int portalGroupTag(int localPort) {
    for (PortalConfig p : portals()) {
      if (p.address().port() == localPort) return p.portalGroupTag();
    }
    return PortalConfig.DEFAULT_PORTAL_GROUP_TAG;
  }

  /** Failed CHAP authentications by address and initiator name (issue 21). */
  LoginThrottle throttle() {
    return throttle;
  }

  LoginPolicy loginPolicy() {
    return loginPolicy;
  }

  /** True if a SendTargets answer to {@code initiator} may name this target (RFC 7143 §12.3, issue 5). */
  boolean visible(IscsiTarget target, String initiator) {
    return loginPolicy.visible(target.name(), initiator);
  }

  /** The target's side of login negotiation, from the config's negotiation section. */
  OperationalOptions operationalOptions() {
    NegotiationOptions n = negotiation;
    // The target prefers no digests and accepts CRC32C when allowed (list order is preference).
    return new OperationalOptions()
        .headerDigest(n.headerDigest() ? "None,CRC32C" : "None")
        .dataDigest(n.dataDigest() ? "None,CRC32C" : "None")
        .maxRecvDataSegmentLength(n.maxRecvDataSegmentLength())
        .maxBurstLength(n.maxBurstLength())
        .firstBurstLength(n.firstBurstLength())
        .maxOutstandingR2T(n.maxOutstandingR2t())
        .maxConnections(n.maxConnections())
        .errorRecoveryLevel(n.errorRecoveryLevel())
        .initialR2T(n.initialR2t())
        .immediateData(n.immediateData())
        .defaultTime2Wait(n.defaultTime2Wait())
        .defaultTime2Retain(n.defaultTime2Retain());
  }

  /**
   * The options for a connection of this transport: on an iSER portal (transport {@code iser-*})
   * the target asks for and accepts RDMAExtensions=Yes (RFC 7145 §5.1, §6.3); its
   * TargetRecvDataSegmentLength stays at the 8192 bytes the iSER receive ring holds by default, and
   * it takes whatever InitiatorRecvDataSegmentLength the initiator declares its buffers hold.
   */
  OperationalOptions operationalOptions(String transport) {
    OperationalOptions o = operationalOptions();
    if (transport != null && transport.startsWith("iser-")) {
      o.rdmaExtensions(true).initiatorRecvDataSegmentLength((1 << 24) - 1);
    }
    return o;
  }

  IscsiTarget target(String name) {
    return targets.get(name);
  }

  Map<String, IscsiTarget> targets() {
    return targets;
  }

  /** The serving portals, with the ports they actually listen on. */
  List<PortalConfig> portals() {
    return portals;
  }

  /**
   * Sets the portals as they listen once their transports started (port 0 resolved), so that
   * SendTargets and portal group lookups report real addresses.
   */
  public void listening(List<PortalConfig> bound) {
    this.portals = List.copyOf(bound);
  }

  /** Registers a new session, allocating its TSIH (RFC 7143 §11.12.7: non-zero, unique). */
  int allocateTsih() {
    for (int i = 0; i < 65535; i++) {
      int t = nextTsih.getAndUpdate(v -> v >= 65535 ? 1 : v + 1);
      if (!sessionsByTsih.containsKey(t)) return t;
    }
    return 0;
  }

  /** Adds a session; returns the session it reinstates (same initiator, ISID and portal group), if any. */
  IscsiSession register(IscsiSession s) {
    sessionsByTsih.put(s.tsih, s);
    IscsiSession old = sessionsByKey.put(s.key(), s);
    if (old != null) sessionsByTsih.remove(old.tsih, old);
    return old;
  }

  void unregister(IscsiSession s) {
    sessionsByTsih.remove(s.tsih, s);
    sessionsByKey.remove(s.key(), s);
  }

  IscsiSession session(int tsih) {
    return sessionsByTsih.get(tsih);
  }

  void connectionClosed(IscsiConnection c) {
    loginEnded(c);
    connections.remove(c);
  }

  /** Number of live sessions (normal and discovery). */
  public int sessionCount() {
    return sessionsByTsih.size();
  }

  /**
   * Clean shutdown: no new connections; each connection finishes or fails its in-flight commands
   * and closes. Completes when every connection has closed.
   */
  public Future<Void> shutdown() {
    stopping = true;
    List<Future<Void>> all = new ArrayList<>();
    for (IscsiConnection c : connections.keySet()) all.add(c.shutdown());
    return Future.join(all).mapEmpty();
  }
  // ---------------------------------------------------------------- administration (admin API, reload)

  /** One connection as the admin API shows it; {@code tsih} is 0 while the connection is still logging in. */
  public record ConnectionInfo(String transport, SocketAddress local, SocketAddress remote, int tsih,
      ConnectionParameters params) {
  }

  /**
   * One session as the admin API shows it: identity (RFC 7143 §4.4.3), the negotiated session-wide
   * parameters, and its connections. {@code targetName} is null for a discovery session.
   */
  public record SessionInfo(int tsih, boolean discovery, String initiatorName, long isid, String targetName,
      int portalGroupTag, SessionParameters params, List<ConnectionInfo> connections) {
  }

  /**
   * Replaces the targets new logins can reach (live reconfiguration). Sessions already logged in
   * keep the {@link IscsiTarget} they logged in to.
   */
  public void targets(Map<String, IscsiTarget> replacement) {
    this.targets = Map.copyOf(replacement);
  }

  /** The targets new logins can reach, by name. */
  public Map<String, IscsiTarget> currentTargets() {
    return targets;
  }

  /** The portals as they listen (port 0 resolved). */
  public List<PortalConfig> listeningPortals() {
    return portals;
  }

  /** Live sessions (normal and discovery), a snapshot. */
  public List<SessionInfo> sessions() {
    List<SessionInfo> out = new ArrayList<>();
    for (IscsiSession s : sessionsByTsih.values()) out.add(info(s));
    out.sort((a, b) -> Integer.compare(a.tsih(), b.tsih()));
    return out;
  }

  /** Live transport connections, including those still in login, a snapshot. */
  public List<ConnectionInfo> connections() {
    List<ConnectionInfo> out = new ArrayList<>();
    for (IscsiConnection c : connections.keySet()) out.add(info(c));
    return out;
  }

  /** TSIHs of the sessions logged in to exactly this target object (not merely one with the same name). */
  public List<Integer> sessionsUsing(IscsiTarget target) {
    List<Integer> out = new ArrayList<>();
    for (IscsiSession s : sessionsByTsih.values()) {
      if (s.target == target || (s.target != null && viewBases.get(s.target) == target)) out.add(s.tsih);
    }
    return out;
  }

  /**
   * Ends a session by closing its connections, after in-flight commands finish (bounded). A
   * stop-gap for "logout requested" (RFC 7143 §11.9.1 AsyncEvent 1), which will replace it.
   *
   * @return false when no session has this TSIH
   */
  public Future<Boolean> closeSession(int tsih) {
    IscsiSession s = sessionsByTsih.get(tsih);
    if (s == null) return Future.succeededFuture(false);
    List<Future<Void>> done = new ArrayList<>();
    for (IscsiConnection c : connections.keySet()) {
      if (c.session == s) done.add(c.shutdown());
    }
    return Future.join(done).map(true);
  }

  /**
   * Closes every connection the predicate selects (its session ends with it), after in-flight
   * commands finish (bounded). Completes when they have closed.
   *
   * @return the connections closed
   */
  public Future<List<ConnectionInfo>> closeConnections(Predicate<ConnectionInfo> which) {
    List<ConnectionInfo> closing = new ArrayList<>();
    List<Future<Void>> done = new ArrayList<>();
    for (IscsiConnection c : connections.keySet()) {
      ConnectionInfo ci = info(c);
      if (which.test(ci)) {
        closing.add(ci);
        done.add(c.shutdown());
      }
    }
    return Future.join(done).transform(x -> Future.succeededFuture(closing));
  }

  /** Ends every session of the target, each on its own context (TARGET COLD RESET, RFC 7143 §11.5.1). */
  void endSessionsOf(IscsiTarget target, String why) {
    for (IscsiSession s : sessionsByTsih.values()) {
      if (s.target == target) s.run(() -> s.end(why));
    }
  }

  /** TSIHs of the sessions logged in to a target of this name; for closing sessions of a removed target. */
  public List<Integer> sessionsOfTarget(String targetName) {
    List<Integer> out = new ArrayList<>();
    for (IscsiSession s : sessionsByTsih.values()) {
      if (s.target != null && s.target.name().equals(targetName)) out.add(s.tsih);
    }
    return out;
  }

  private static ConnectionInfo info(IscsiConnection c) {
    IscsiSession s = c.session;
    return new ConnectionInfo(c.dm.transport(), c.dm.localAddress(), c.dm.remoteAddress(), s == null ? 0 : s.tsih,
        s == null ? null : c.params);
  }

  private SessionInfo info(IscsiSession s) {
    List<ConnectionInfo> cs = new ArrayList<>();
    for (IscsiConnection c : connections.keySet()) {
      if (c.session == s) cs.add(info(c));
    }
    return new SessionInfo(s.tsih, s.type == IscsiSession.Type.DISCOVERY, s.initiatorName, s.isid,
        s.target == null ? null : s.target.name(), s.portalGroupTag, s.params, cs);
  }
}
