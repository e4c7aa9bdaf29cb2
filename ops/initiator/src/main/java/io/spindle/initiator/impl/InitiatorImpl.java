package io.spindle.initiator.impl;

import io.spindle.initiator.Connection;
import io.spindle.initiator.DiscoveredTarget;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.IscsiInitiator;
import io.spindle.initiator.LoginException;
import io.spindle.initiator.Session;
import io.spindle.iscsi.text.TextKeys.Pair;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.spindle.rdma.RdmaDevice;
import io.spindle.rdma.RdmaProvider;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/** {@link IscsiInitiator} over one Vert.x {@link NetClient}; every connection gets a fresh event-loop context. */
public final class InitiatorImpl implements IscsiInitiator {

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(InitiatorImpl.class);

  private final VertxInternal vertx;
  private final InitiatorOptions options;
  private final NetClient client;
  private final AtomicInteger isidQualifier = new AtomicInteger();
  private Future<RdmaDevice> rdmaDevice;

  public InitiatorImpl(Vertx vertx, InitiatorOptions options) {
    this.vertx = (VertxInternal) vertx;
    this.options = options;
    this.client = vertx.createNetClient(new NetClientOptions()
        .setTcpNoDelay(true)
        .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, options.getLoginTimeoutMillis())));
  }

  @Override
  public InitiatorOptions options() {
    return new InitiatorOptions(options);
  }

  @Override
  public Future<Connection> connect(String host, int port) {
    return open(host, port).map(c -> c);
  }

  private Future<ConnectionImpl> open(String host, int port) {
    return open(vertx.createEventLoopContext(), host, port);
  }

  private Future<ConnectionImpl> open(ContextInternal context, String host, int port) {
    if (!options.isIser()) return ConnectionImpl.connect(context, client, host, port);
    if (options.isIserRfc5046()) {
      // RFC 5046 §5: login over plain TCP; the final Login Response turns the stream into iSER.
      return rdmaDevice().compose(device -> ConnectionImpl.connect(context, client, host, port).map(c -> {
        c.onEnableDatamover(rdma -> {
          if (rdma) return IserWire.upgrade(c, device, options);
          // RFC 5046 §5.1: RDMAExtensions=No (always so in discovery) leaves traditional iSCSI mode.
          log.warn("{}: RDMAExtensions=No, the connection stays iSCSI/TCP", c);
          return Future.succeededFuture();
        });
        return c;
      }));
    }
    return rdmaDevice().compose(device -> IserWire.connect(context, device, host, port));
  }

  /** The software RNIC the iSER connections run on, opened at the first one. */
  private synchronized Future<RdmaDevice> rdmaDevice() {
    if (rdmaDevice == null) rdmaDevice = RdmaProvider.load("iwarp").open(vertx, new JsonObject());
    return rdmaDevice;
  }

  @Override
  public Future<Session> login(String host, int port, String targetName) {
    // The qualifier (low 16 bits) counts logins, so sessions of this initiator stay distinct (RFC 7143 §4.4.3).
    long isid = (options.getIsid() & ~0xffffL) | ((isidQualifier.incrementAndGet()) & 0xffff);
    return login(host, port, targetName, isid);
  }

  @Override
  public Future<Session> login(String host, int port, String targetName, long isid) {
    return loginSession(host, port, targetName, isid).map(s -> s);
  }

  private Future<SessionImpl> loginSession(String host, int port, String targetName, long isid) {
    SessionImpl.Connector connector = (context, portal) -> open(context, portal.host(), portal.port());
    List<Portals.Portal> list = new ArrayList<>();
    list.add(new Portals.Portal(host, port));
    if (targetName != null) for (String p : options.getPortals()) list.add(Portals.Portal.parse(p));
    Portals portals = new Portals(list);
    return leadingLogin(portals, portals.first(), new HashSet<>(), connector, targetName, isid)
        .compose(SessionImpl::openConnections);
  }

  /** The leading login, on each portal in turn until one answers (a dead first portal is not the end). */
  private Future<SessionImpl> leadingLogin(Portals portals, Portals.Portal portal, Set<Portals.Portal> tried,
      SessionImpl.Connector connector, String targetName, long isid) {
    tried.add(portal);
    return open(portal.host(), portal.port()).compose(c -> c.onContext(() ->
        new LoginExchange(c, options, LoginExchange.Request.leading(targetName, isid)).start()
            .map(result -> new SessionImpl(c, portal, connector, portals, options, targetName, result))))
        .recover(err -> {
          portals.failed(portal, System.nanoTime());
          Portals.Portal next = portals.next(portal);
          // An initiator error (RFC 7143 §11.13.5: authentication, authorization, no such target) is the same everywhere.
          boolean refused = err instanceof LoginException le && le.statusClass() == LoginException.CLASS_INITIATOR_ERROR;
          if (tried.contains(next) || refused) return Future.failedFuture(err);
          log.info("login on {} failed ({}); trying {}", portal, err.getMessage(), next);
          return leadingLogin(portals, next, tried, connector, targetName, isid);
        });
  }

  @Override
  public Future<List<DiscoveredTarget>> discover(String host, int port) {
    long isid = (options.getIsid() & ~0xffffL) | ((isidQualifier.incrementAndGet()) & 0xffff);
    return loginSession(host, port, null, isid).compose(s ->
        s.text(List.of(new Pair("SendTargets", "All")))
            .compose(pairs -> s.logout().map(v -> targets(pairs)),
                err -> s.close().transform(ar -> Future.failedFuture(err))));
  }

  /** RFC 7143 Appendix C: each TargetName is followed by its TargetAddress values. */
  static List<DiscoveredTarget> targets(List<Pair> pairs) {
    List<DiscoveredTarget> out = new ArrayList<>();
    String name = null;
    List<String> addresses = new ArrayList<>();
    for (Pair p : pairs) {
      if (p.key().equals("TargetName")) {
        if (name != null) out.add(new DiscoveredTarget(name, addresses));
        name = p.value();
        addresses = new ArrayList<>();
      } else if (p.key().equals("TargetAddress") && name != null) {
        addresses.add(p.value());
      }
    }
    if (name != null) out.add(new DiscoveredTarget(name, addresses));
    return out;
  }

  @Override
  public Future<Void> close() {
    Future<RdmaDevice> d;
    synchronized (this) {
      d = rdmaDevice;
    }
    Future<Void> tcp = client.close();
    if (d == null) return tcp;
    return tcp.eventually(() -> d.compose(RdmaDevice::close, err -> Future.succeededFuture()));
  }
}
