package io.spindle.server;

import io.spindle.iscsi.datamover.Transport;
import io.spindle.scsi.LogicalUnit;
import io.spindle.scsi.LunOptions;
import io.spindle.scsi.ScsiEngine;
import io.spindle.server.config.PortalConfig;
import io.spindle.server.config.ServerConfig;
import io.spindle.server.config.TargetConfig;
import io.spindle.server.iscsi.IscsiService;
import io.spindle.server.iscsi.IscsiTarget;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Spindle server: the SCSI engine with its logical units, the iSCSI layer, and one
 * transport listener per portal. {@link #start} validates everything before serving; a portal
 * whose transport cannot start is logged and skipped, the others serve.
 */
public final class SpindleServer {

  private static final Logger log = LoggerFactory.getLogger(SpindleServer.class);

  private final Vertx vertx;
  private final ServerConfig config;
  private final ScsiEngine engine;
  private final IscsiService iscsi;
  private final Map<PortalConfig, Transport.Listener> listeners;

  private SpindleServer(Vertx vertx, ServerConfig config, ScsiEngine engine, IscsiService iscsi,
      Map<PortalConfig, Transport.Listener> listeners) {
    this.vertx = vertx;
    this.config = config;
    this.engine = engine;
    this.iscsi = iscsi;
    this.listeners = listeners;
  }

  /** Transports on the class path, by name (ServiceLoader). */
  public static Map<String, Transport> transports() {
    Map<String, Transport> m = new HashMap<>();
    for (Transport t : ServiceLoader.load(Transport.class)) m.put(t.name(), t);
    return m;
  }

  public static Future<SpindleServer> start(Vertx vertx, ServerConfig config) {
    Map<String, Transport> transports = transports();
    for (int i = 0; i < config.portals().size(); i++) {
      String t = config.portals().get(i).transport();
      if (!transports.containsKey(t)) {
        return Future.failedFuture(new IllegalArgumentException("portals[" + i + "].transport: \"" + t
            + "\" is not an available transport (available: " + transports.keySet() + ")"));
      }
    }
    ScsiEngine engine = ScsiEngine.create(vertx, config.storageWorkerThreads());
    List<Future<?>> opening = new ArrayList<>();
    Map<String, Map<Integer, Future<LogicalUnit>>> units = new LinkedHashMap<>();
    for (TargetConfig t : config.targets()) {
      Map<Integer, Future<LogicalUnit>> m = new LinkedHashMap<>();
      for (Map.Entry<Integer, LunOptions> e : t.luns().entrySet()) {
        Future<LogicalUnit> f = engine.openLogicalUnit(e.getValue()).recover(err -> Future.failedFuture(
            new IllegalStateException("target " + t.name() + " LUN " + e.getKey() + ": " + err.getMessage(), err)));
        m.put(e.getKey(), f);
        opening.add(f);
      }
      units.put(t.name(), m);
    }
    return Future.all(opening).recover(err -> engine.close().transform(x -> Future.failedFuture(err)))
        .compose(x -> {
          Map<String, IscsiTarget> targets = new HashMap<>();
          for (TargetConfig t : config.targets()) {
            Map<Integer, LogicalUnit> luns = new LinkedHashMap<>();
            units.get(t.name()).forEach((n, f) -> luns.put(n, f.result()));
            targets.put(t.name(), new IscsiTarget(t.name(), t.alias(), engine.createTarget(t.name(), luns)));
          }
          IscsiService iscsi = new IscsiService(vertx, targets, config.portals(), config.negotiation());
          Map<PortalConfig, Future<Transport.Listener>> started = new LinkedHashMap<>();
          for (PortalConfig p : config.portals()) {
            started.put(p, transports.get(p.transport()).listen(vertx, p.address(), p.options(), iscsi::accept));
          }
          return Future.join(new ArrayList<>(started.values())).transform(y -> {
            Map<PortalConfig, Transport.Listener> listeners = new LinkedHashMap<>();
            started.forEach((p, f) -> {
              if (f.succeeded()) {
                listeners.put(p, f.result());
              } else {
                log.error("portal {} ({}) not serving: {}", p.address(), p.transport(), f.cause().getMessage());
              }
            });
            List<PortalConfig> bound = new ArrayList<>();
            listeners.forEach((p, l) -> bound.add(new PortalConfig(
                new io.spindle.iscsi.datamover.PortalAddress(p.address().host(), l.actualPort()), p.transport(),
                p.portalGroupTag(), p.options())));
            iscsi.listening(bound);
            if (listeners.isEmpty()) {
              return engine.close().transform(z -> Future.failedFuture(
                  new IllegalStateException("no portal could start; see the errors above")));
            }
            return Future.succeededFuture(new SpindleServer(vertx, config, engine, iscsi, listeners));
          });
        });
  }

  public ServerConfig config() {
    return config;
  }

  public Vertx vertx() {
    return vertx;
  }

  /** The port each serving portal actually listens on (resolves port 0), in config order. */
  public List<Integer> ports() {
    List<Integer> ports = new ArrayList<>();
    listeners.values().forEach(l -> ports.add(l.actualPort()));
    return ports;
  }

  public int sessionCount() {
    return iscsi.sessionCount();
  }

  /**
   * Clean stop: stop accepting, let in-flight commands finish (or fail them after a bound), close
   * connections, flush and close backing stores.
   */
  public Future<Void> stop() {
    List<Future<Void>> closing = new ArrayList<>();
    listeners.values().forEach(l -> closing.add(l.close()));
    return Future.join(closing).transform(x -> iscsi.shutdown()).transform(x -> engine.close());
  }
}
