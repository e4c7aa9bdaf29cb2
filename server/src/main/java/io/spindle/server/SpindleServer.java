package io.spindle.server;

import io.spindle.iscsi.datamover.PortalAddress;
import io.spindle.iscsi.datamover.Transport;
import io.spindle.scsi.LogicalUnit;
import io.spindle.scsi.LunOptions;
import io.spindle.scsi.ScsiEngine;
import io.spindle.scsi.spi.store.StoreUnavailableException;
import io.spindle.server.config.ConfigException;
import io.spindle.server.config.Listeners;
import io.spindle.server.config.PortalConfig;
import io.spindle.server.config.ServerConfig;
import io.spindle.server.config.TargetConfig;
import io.spindle.server.iscsi.IscsiService;
import io.spindle.server.iscsi.IscsiTarget;
import io.spindle.server.iscsi.LoginPolicy;
import io.spindle.server.metrics.SpindleMetrics;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Spindle server: the SCSI engine with its logical units, the iSCSI layer, and one
 * transport listener per portal. {@link #start} validates everything before serving; a portal
 * whose transport cannot start is logged and skipped, the others serve.
 *
 * <p>{@link #reconfigure} applies a new configuration live: new LUNs are opened and new portals
 * bound first, and if any of that fails nothing changes. Then the switch: new logins see the new
 * targets and portals; sessions on a removed portal, a removed target, or a target that lost or
 * changed a LUN are closed after the grace period; untouched sessions never notice. Logical units
 * no longer configured become unreachable once those sessions have ended (released at stop).
 */
public final class SpindleServer {

  private static final Logger log = LoggerFactory.getLogger(SpindleServer.class);
  /** Reload, admin and error events, one line each (README "Configuration reload"). */
  private static final Logger ops = LoggerFactory.getLogger("io.spindle.ops");

  /**
   * A serving portal: as configured, its listener, and whether it is draining (removed: new
   * connections are turned away while its sessions get their grace period).
   */
  private record Serving(PortalConfig config, Transport.Listener listener, AtomicBoolean draining) {
    PortalConfig bound() {
      return new PortalConfig(new PortalAddress(config.address().host(), listener.actualPort()), config.transport(),
          config.portalGroupTag(), config.options());
    }
  }

  /** An open logical unit and the options (as config JSON) it was opened with. */
  private record OpenLun(JsonObject options, LogicalUnit unit) {
  }

  private final Vertx vertx;
  private final ScsiEngine engine;
  private final IscsiService iscsi;
  private final SpindleMetrics metrics;
  private final Map<String, Transport> transports;
  private volatile ServerConfig config;
  /** By configured address string. Replaced whole by reconfigure; read from any thread. */
  private volatile Map<String, Serving> portals;
  /** Target name to LUN number to unit. Replaced whole by reconfigure. */
  private volatile Map<String, Map<Integer, OpenLun>> units;
  /** Removed portals still draining (their listeners close after the grace period, or at stop). */
  private final Set<Serving> draining = java.util.concurrent.ConcurrentHashMap.newKeySet();
  /** Addresses other listeners of ours are bound to (admin API, metrics), by name: no portal may take them. */
  private final Map<String, PortalAddress> reserved = new java.util.concurrent.ConcurrentHashMap<>();
  /** Reconfigurations run one after another. */
  private Future<?> reconfiguring = Future.succeededFuture();

  private SpindleServer(Vertx vertx, ServerConfig config, ScsiEngine engine, IscsiService iscsi,
      SpindleMetrics metrics, Map<String, Transport> transports, Map<String, Serving> portals,
      Map<String, Map<Integer, OpenLun>> units) {
    this.vertx = vertx;
    this.config = config;
    this.engine = engine;
    this.iscsi = iscsi;
    this.metrics = metrics;
    this.transports = transports;
    this.portals = portals;
    this.units = units;
  }

  /** Transports on the class path, by name (ServiceLoader). */
  public static Map<String, Transport> transports() {
    Map<String, Transport> m = new HashMap<>();
    for (Transport t : ServiceLoader.load(Transport.class)) m.put(t.name(), t);
    return m;
  }

  public static Future<SpindleServer> start(Vertx vertx, ServerConfig config) {
    return start(vertx, config, SpindleMetrics.create());
  }

  /** Starts with the given metrics registry (see {@link SpindleMetrics#vertx} for Vert.x's own metrics). */
  public static Future<SpindleServer> start(Vertx vertx, ServerConfig config, SpindleMetrics metrics) {
    return start(vertx, config, metrics, null);
  }

  /**
   * Starts as a node of {@code cluster} (its clustered {@code vertx}): sessions live in the
   * cluster's state store and this node's portals join SendTargets everywhere. Null: standalone.
   */
  public static Future<SpindleServer> start(Vertx vertx, ServerConfig config, SpindleMetrics metrics,
      io.spindle.cluster.ClusterNode cluster) {
    Map<String, Transport> transports = transports();
    String missing = missingTransport(config, transports);
    if (missing != null) return Future.failedFuture(new IllegalArgumentException(missing));
    String collision = Listeners.collision(config.portals(), Listeners.configured(config.operations(), config.cluster()),
        Map.of());
    if (collision != null) return Future.failedFuture(new ConfigException(collision));
    ScsiEngine engine = ScsiEngine.create(vertx, config.storageWorkerThreads());
    return openUnits(engine, config, Map.of())
        .recover(err -> engine.close().transform(x -> Future.failedFuture(err)))
        .compose(units -> {
          Map<String, IscsiTarget> targets = new HashMap<>();
          for (TargetConfig t : config.targets()) targets.put(t.name(), iscsiTarget(engine, t, units.get(t.name())));
          IscsiService iscsi = new IscsiService(vertx, targets, config.portals(), config.negotiation(), cluster);
          iscsi.loginPolicy(loginPolicy(engine, config, targets, units));
          metrics.iscsi().knownTargets(targets.keySet());
          iscsi.observer(metrics.iscsi());
          Map<PortalConfig, Future<Transport.Listener>> started = new LinkedHashMap<>();
          Map<PortalConfig, AtomicBoolean> draining = new LinkedHashMap<>();
          for (PortalConfig p : config.portals()) {
            draining.put(p, new AtomicBoolean());
            started.put(p, listen(vertx, transports, iscsi, p, draining.get(p)));
          }
          return Future.join(new ArrayList<>(started.values())).transform(y -> {
            Map<String, Serving> serving = new LinkedHashMap<>();
            started.forEach((p, f) -> {
              if (f.succeeded()) {
                serving.put(p.address().toString(), new Serving(p, f.result(), draining.get(p)));
              } else {
                log.error("portal {} ({}) not serving: {}", p.address(), p.transport(), f.cause().getMessage());
              }
            });
            iscsi.listening(serving.values().stream().map(Serving::bound).toList());
            iscsi.publishToCluster();
            if (cluster != null) metrics.cluster(cluster);
            if (serving.isEmpty()) {
              return engine.close().transform(z -> Future.failedFuture(
                  new IllegalStateException("no portal could start; see the errors above")));
            }
            return Future.succeededFuture(new SpindleServer(vertx, config, engine, iscsi, metrics, transports,
                serving, units));
          });
        });
  }

  /** Starts a portal's listener; while {@code draining}, accepted connections are closed at once. */
  private static Future<Transport.Listener> listen(Vertx vertx, Map<String, Transport> transports,
      IscsiService iscsi, PortalConfig p, AtomicBoolean draining) {
    return transports.get(p.transport()).listen(vertx, p.address(), p.options(), dm -> {
      if (draining.get()) {
        ops.info("refusing connection peer={} on removed portal {}", dm.remoteAddress(), p.address());
        dm.terminate();
      } else {
        iscsi.accept(dm);
      }
    });
  }

  private static String missingTransport(ServerConfig config, Map<String, Transport> transports) {
    for (int i = 0; i < config.portals().size(); i++) {
      String t = config.portals().get(i).transport();
      if (!transports.containsKey(t)) {
        return "portals[" + i + "].transport: \"" + t + "\" is not an available transport (available: "
            + transports.keySet() + ")";
      }
    }
    return null;
  }

  /**
   * Opens the logical units of {@code config}, reusing those in {@code open} whose options are
   * unchanged. If one fails, the ones opened here are closed again and the failure names the LUN.
   */
  private static Future<Map<String, Map<Integer, OpenLun>>> openUnits(ScsiEngine engine, ServerConfig config,
      Map<String, Map<Integer, OpenLun>> open) {
    Map<String, Map<Integer, Future<OpenLun>>> opening = new LinkedHashMap<>();
    List<Future<OpenLun>> fresh = new ArrayList<>();
    for (int i = 0; i < config.targets().size(); i++) {
      TargetConfig t = config.targets().get(i);
      Map<Integer, Future<OpenLun>> m = new LinkedHashMap<>();
      for (Map.Entry<Integer, LunOptions> e : t.luns().entrySet()) {
        JsonObject json = TargetConfig.lunJson(e.getValue());
        OpenLun existing = open.getOrDefault(t.name(), Map.of()).get(e.getKey());
        if (existing != null && existing.options().equals(json)) {
          m.put(e.getKey(), Future.succeededFuture(existing));
          continue;
        }
        String where = "targets[" + i + "] " + t.name() + " LUN " + e.getKey();
        Future<OpenLun> f = engine.openLogicalUnit(e.getValue()).transform(ar -> {
          if (ar.succeeded()) return Future.succeededFuture(new OpenLun(json, ar.result()));
          if (ar.cause() instanceof StoreUnavailableException) {
            // The store's service is down (Ceph unreachable, librbd missing): this LUN stays
            // offline, the target and every other LUN serve; a later reload tries it again.
            log.error("{}: not serving: {}", where, ar.cause().getMessage());
            return Future.succeededFuture((OpenLun) null);
          }
          return Future.failedFuture(new IllegalStateException(where + ": " + ar.cause().getMessage(), ar.cause()));
        });
        m.put(e.getKey(), f);
        fresh.add(f);
      }
      opening.put(t.name(), m);
    }
    return Future.join(fresh).transform(ar -> {
      if (ar.failed()) {
        List<Future<Void>> closing = new ArrayList<>();
        for (Future<OpenLun> f : fresh) if (f.succeeded() && f.result() != null) closing.add(f.result().unit().close());
        Throwable first = fresh.stream().filter(Future::failed).findFirst().map(Future::cause).orElse(ar.cause());
        return Future.join(closing).transform(x -> Future.failedFuture(first));
      }
      Map<String, Map<Integer, OpenLun>> result = new LinkedHashMap<>();
      opening.forEach((t, m) -> {
        Map<Integer, OpenLun> r = new LinkedHashMap<>();
        m.forEach((n, f) -> {
          if (f.result() != null) r.put(n, f.result());
        });
        result.put(t, Map.copyOf(r));
      });
      return Future.succeededFuture(Map.copyOf(result));
    });
  }

  private static IscsiTarget iscsiTarget(ScsiEngine engine, TargetConfig t, Map<Integer, OpenLun> luns) {
    Map<Integer, LogicalUnit> m = new LinkedHashMap<>();
    luns.forEach((n, u) -> m.put(n, u.unit()));
    return new IscsiTarget(t.name(), t.alias(), engine.createTarget(t.name(), m));
  }

  /** ACLs, CHAP and login limits of {@code c}; an ACL entry that maps LUNs gets its own SCSI target view. */
  private static LoginPolicy loginPolicy(ScsiEngine engine, ServerConfig c, Map<String, IscsiTarget> targets,
      Map<String, Map<Integer, OpenLun>> units) {
    return LoginPolicy.of(c, targets, (name, map) -> {
      Map<Integer, LogicalUnit> m = new LinkedHashMap<>();
      map.forEach((lun, targetLun) -> m.put(lun, units.get(name).get(targetLun).unit()));
      return engine.createTarget(name, m);
    });
  }

  public ServerConfig config() {
    return config;
  }

  public Vertx vertx() {
    return vertx;
  }

  public IscsiService iscsi() {
    return iscsi;
  }

  public SpindleMetrics metrics() {
    return metrics;
  }

  /** The port each serving portal actually listens on (resolves port 0), in config order. */
  public List<Integer> ports() {
    List<Integer> ports = new ArrayList<>();
    portals.values().forEach(s -> ports.add(s.listener().actualPort()));
    return ports;
  }

  /** The serving portals as configured address to the address actually bound (port 0 resolved). */
  public Map<String, PortalAddress> boundPortals() {
    Map<String, PortalAddress> m = new LinkedHashMap<>();
    portals.forEach((k, s) -> m.put(k, s.bound().address()));
    return m;
  }

  /** Open logical units: target name to LUN number to unit. */
  public Map<String, Map<Integer, LogicalUnit>> logicalUnits() {
    Map<String, Map<Integer, LogicalUnit>> m = new LinkedHashMap<>();
    units.forEach((t, l) -> {
      Map<Integer, LogicalUnit> r = new LinkedHashMap<>();
      l.forEach((n, u) -> r.put(n, u.unit()));
      m.put(t, r);
    });
    return m;
  }

  /**
   * Records that another listener of ours (the admin API, the metrics endpoint) is bound at
   * {@code address}; later portals colliding with it are refused (config.Listeners).
   */
  public void reserve(String name, PortalAddress address) {
    reserved.put(name, address);
  }

  public int sessionCount() {
    return iscsi.sessionCount();
  }

  /**
   * Applies a new configuration live (see the class comment). Fails, changing nothing, when a new
   * LUN cannot be opened or a new portal cannot be bound; the message names which. Reconfigurations
   * run one at a time, in call order.
   *
   * @return what changed: {@code portalsAdded}, {@code portalsRemoved}, {@code targetsAdded},
   *     {@code targetsRemoved}, {@code targetsChanged}, {@code restartNeeded} (lists of names)
   */
  public synchronized Future<JsonObject> reconfigure(ServerConfig next) {
    Promise<JsonObject> done = Promise.promise();
    reconfiguring = reconfiguring.transform(x -> apply(next).onComplete(done)).otherwise(x -> null);
    return done.future();
  }

  private Future<JsonObject> apply(ServerConfig next) {
    ServerConfig old = config;
    String missing = missingTransport(next, transports);
    if (missing != null) return Future.failedFuture(new ConfigException(missing));
    // The running metrics and admin listeners stay until a restart: new portals must not take their ports.
    String collision = Listeners.collision(next.portals(), Listeners.configured(old.operations(), old.cluster()),
        reserved);
    if (collision != null) return Future.failedFuture(new ConfigException(collision));
    Map<String, Serving> oldPortals = portals;
    List<PortalConfig> added = new ArrayList<>();
    Set<String> keep = new java.util.HashSet<>();
    for (int i = 0; i < next.portals().size(); i++) {
      PortalConfig p = next.portals().get(i);
      Serving s = oldPortals.get(p.address().toString());
      if (s == null) {
        added.add(p);
      } else if (!s.config().toJson().equals(p.toJson())) {
        return Future.failedFuture(new ConfigException("portals[" + i + "]: " + p.address()
            + " is serving with other settings; remove it in one reload and add it back in the next"));
      } else {
        keep.add(p.address().toString());
      }
    }
    List<Serving> removed = oldPortals.values().stream()
        .filter(s -> !keep.contains(s.config().address().toString())).toList();
    Map<String, Map<Integer, OpenLun>> oldUnits = units;
    return openUnits(engine, next, oldUnits).compose(newUnits -> {
      Map<PortalConfig, Future<Transport.Listener>> binding = new LinkedHashMap<>();
      Map<PortalConfig, AtomicBoolean> draining = new LinkedHashMap<>();
      for (PortalConfig p : added) {
        draining.put(p, new AtomicBoolean());
        binding.put(p, listen(vertx, transports, iscsi, p, draining.get(p)));
      }
      return Future.join(new ArrayList<>(binding.values())).transform(ar -> {
        if (ar.failed()) {
          // All or nothing: undo what this reload opened and bound.
          List<Future<Void>> undo = new ArrayList<>();
          binding.values().forEach(f -> {
            if (f.succeeded()) undo.add(f.result().close());
          });
          closeUnused(newUnits, oldUnits, undo);
          String why = binding.entrySet().stream().filter(e -> e.getValue().failed())
              .map(e -> "portal " + e.getKey().address() + ": " + e.getValue().cause().getMessage())
              .collect(Collectors.joining("; "));
          return Future.join(undo).transform(y -> Future.failedFuture(new IllegalStateException(why)));
        }
        Map<String, Serving> serving = new LinkedHashMap<>();
        for (PortalConfig p : next.portals()) {
          String k = p.address().toString();
          Future<Transport.Listener> f = binding.get(p);
          serving.put(k, f != null ? new Serving(p, f.result(), draining.get(p)) : oldPortals.get(k));
        }
        return Future.succeededFuture(commit(old, next, serving, removed, newUnits, oldUnits));
      });
    });
  }

  /** Closes units opened for {@code next} that {@code current} does not hold (undo of a failed reload). */
  private static void closeUnused(Map<String, Map<Integer, OpenLun>> next, Map<String, Map<Integer, OpenLun>> current,
      List<Future<Void>> closing) {
    Set<LogicalUnit> held = new java.util.HashSet<>();
    current.values().forEach(m -> m.values().forEach(u -> held.add(u.unit())));
    next.values().forEach(m -> m.values().forEach(u -> {
      if (!held.contains(u.unit())) closing.add(u.unit().close());
    }));
  }

  private JsonObject commit(ServerConfig old, ServerConfig next, Map<String, Serving> serving, List<Serving> removed,
      Map<String, Map<Integer, OpenLun>> newUnits, Map<String, Map<Integer, OpenLun>> oldUnits) {
    Map<String, IscsiTarget> oldTargets = iscsi.currentTargets();
    Map<String, IscsiTarget> targets = new LinkedHashMap<>();
    List<String> targetsAdded = new ArrayList<>();
    List<String> targetsChanged = new ArrayList<>();
    /** Old targets whose sessions must end: removed, or a LUN removed or changed. */
    List<IscsiTarget> retired = new ArrayList<>();
    for (TargetConfig t : next.targets()) {
      IscsiTarget before = oldTargets.get(t.name());
      Map<Integer, OpenLun> now = newUnits.get(t.name());
      Map<Integer, OpenLun> was = oldUnits.get(t.name());
      if (before == null) {
        targetsAdded.add(t.name());
        targets.put(t.name(), iscsiTarget(engine, t, now));
      } else if (now.equals(was) && Objects.equals(before.alias(), t.alias())) {
        targets.put(t.name(), before);
      } else {
        targetsChanged.add(t.name());
        targets.put(t.name(), iscsiTarget(engine, t, now));
        boolean lostOrChanged = was.entrySet().stream().anyMatch(e -> !e.getValue().equals(now.get(e.getKey())));
        if (lostOrChanged) retired.add(before);
      }
    }
    List<String> targetsRemoved = new ArrayList<>();
    oldTargets.forEach((name, t) -> {
      if (!targets.containsKey(name)) {
        targetsRemoved.add(name);
        retired.add(t);
      }
    });

    // The switch: from here on new logins see the new targets and portals.
    portals = serving;
    units = newUnits;
    config = next;
    // The policy first: in between, a login to a target the new configuration dropped is refused.
    iscsi.loginPolicy(loginPolicy(engine, next, targets, newUnits));
    iscsi.targets(targets);
    iscsi.listening(serving.values().stream().map(Serving::bound).toList());
    metrics.iscsi().knownTargets(targets.keySet());

    List<String> restart = new ArrayList<>();
    if (!old.negotiation().equals(next.negotiation())) restart.add("negotiation");
    if (old.storageWorkerThreads() != next.storageWorkerThreads()) restart.add("storage");
    if (!Objects.equals(old.operations().metricsAddress(), next.operations().metricsAddress())) restart.add("metrics");
    if (!Objects.equals(old.operations().adminAddress(), next.operations().adminAddress())) restart.add("admin");
    if (!Objects.equals(old.cluster(), next.cluster())) restart.add("cluster");

    List<String> portalsAdded = new ArrayList<>();
    serving.forEach((k, s) -> {
      if (!old.portals().stream().anyMatch(p -> p.address().toString().equals(k))) {
        portalsAdded.add(k + " (listening on " + s.bound().address() + ")");
      }
    });
    List<String> portalsRemoved = removed.stream().map(s -> s.config().address().toString()).toList();
    JsonObject summary = new JsonObject()
        .put("portalsAdded", new JsonArray(portalsAdded)).put("portalsRemoved", new JsonArray(portalsRemoved))
        .put("targetsAdded", new JsonArray(targetsAdded)).put("targetsRemoved", new JsonArray(targetsRemoved))
        .put("targetsChanged", new JsonArray(targetsChanged)).put("restartNeeded", new JsonArray(restart));
    ops.info("reload applied portals+={} portals-={} targets+={} targets-={} targets~={}{}", portalsAdded,
        portalsRemoved, targetsAdded, targetsRemoved, targetsChanged,
        restart.isEmpty() ? "" : " restart needed for " + restart + " (kept the running values)");

    // Removed portals turn new connections away now; their sessions, and those of retired
    // targets, end after the grace period. The listener closes only then: closing a transport's
    // listener may close the connections it accepted.
    removed.forEach(s -> {
      s.draining().set(true);
      draining.add(s);
    });
    long grace = next.operations().gracePeriodMillis();
    Runnable afterGrace = () -> {
      List<Future<?>> ended = new ArrayList<>();
      for (Serving s : removed) {
        PortalAddress bound = s.bound().address();
        ended.add(iscsi.closeConnections(c -> onPortal(c.local(), bound)).onSuccess(closed -> closed.forEach(c ->
            ops.info("closed connection peer={} tsih={} of removed portal {} after the grace period", c.remote(),
                c.tsih(), bound)))
            .transform(x -> draining.remove(s) ? s.listener().close() : Future.succeededFuture()).onFailure(e ->
                ops.warn("portal {} did not close cleanly: {}", s.config().address(), e.getMessage())));
      }
      for (IscsiTarget t : retired) {
        for (int tsih : iscsi.sessionsUsing(t)) {
          ops.info("closing session tsih={} of {} target {}", tsih,
              targets.containsKey(t.name()) ? "changed" : "removed", t.name());
          ended.add(iscsi.closeSession(tsih));
        }
      }
      // Units no longer configured close once nothing can reach them any more.
      Future.join(ended).onComplete(x -> closeRetiredUnits(newUnits, oldUnits));
    };
    if (grace == 0) afterGrace.run();
    else vertx.setTimer(grace, id -> afterGrace.run());
    return summary;
  }

  /**
   * Closes the logical units no longer configured, once no session can reach them: the store is
   * flushed and its file closed (or its memory freed), so an operator can move or delete it.
   */
  private void closeRetiredUnits(Map<String, Map<Integer, OpenLun>> current,
      Map<String, Map<Integer, OpenLun>> previous) {
    Set<LogicalUnit> held = new java.util.HashSet<>();
    units.values().forEach(m -> m.values().forEach(u -> held.add(u.unit())));
    current.values().forEach(m -> m.values().forEach(u -> held.add(u.unit())));
    previous.forEach((t, m) -> m.forEach((n, u) -> {
      if (!held.contains(u.unit())) {
        u.unit().close()
            .onSuccess(v -> ops.info("logical unit target={} lun={} retired: flushed and closed", t, n))
            .onFailure(e -> ops.warn("logical unit target={} lun={} retired, but closing it failed: {}", t, n,
                e.getMessage()));
      }
    }));
  }

  /** Whether a connection's local address belongs to a portal bound at {@code portal} (wildcard host matches any). */
  static boolean onPortal(SocketAddress local, PortalAddress portal) {
    if (local == null || local.port() != portal.port()) return false;
    String h = portal.host();
    if (h.equals("0.0.0.0") || h.equals("::") || h.equals("[::]")) return true;
    String l = local.hostAddress();
    if (l == null) return false;
    try {
      return java.net.InetAddress.getByName(h.replace("[", "").replace("]", ""))
          .equals(java.net.InetAddress.getByName(l));
    } catch (java.net.UnknownHostException e) {
      return h.equalsIgnoreCase(l);
    }
  }

  /**
   * Clean stop: stop accepting, let in-flight commands finish (or fail them after a bound), close
   * connections, flush and close backing stores.
   */
  public Future<Void> stop() {
    List<Future<Void>> closing = new ArrayList<>();
    portals.values().forEach(s -> closing.add(s.listener().close()));
    for (Serving s : new ArrayList<>(draining)) {
      if (draining.remove(s)) closing.add(s.listener().close());
    }
    return Future.join(closing).transform(x -> iscsi.shutdown()).transform(x -> engine.close());
  }
}
