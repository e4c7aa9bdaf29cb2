package io.spindle.server.iscsi;

import io.spindle.iscsi.datamover.DatamoverConnection;
import io.spindle.iscsi.negotiation.OperationalOptions;
import io.spindle.server.config.NegotiationOptions;
import io.spindle.server.config.PortalConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

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
  private final io.spindle.cluster.StateStore stateStore = io.spindle.cluster.StateStore.inMemory();

  public IscsiService(Vertx vertx, Map<String, IscsiTarget> targets, List<PortalConfig> portals,
      NegotiationOptions negotiation) {
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
  io.spindle.cluster.StateStore stateStore() {
    return stateStore;
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
    IscsiConnection c = new IscsiConnection(this, dm);
    connections.put(c, Boolean.TRUE);
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
}
