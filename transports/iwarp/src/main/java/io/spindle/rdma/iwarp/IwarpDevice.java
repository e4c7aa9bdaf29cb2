package io.spindle.rdma.iwarp;

import io.spindle.rdma.Access;
import io.spindle.rdma.ConnectionRequest;
import io.spindle.rdma.DeviceCapabilities;
import io.spindle.rdma.ProtectionDomain;
import io.spindle.rdma.QueuePairOptions;
import io.spindle.rdma.RdmaConnection;
import io.spindle.rdma.RdmaDevice;
import io.spindle.rdma.RdmaListener;
import io.spindle.rdma.StreamingConnection;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.SocketAddress;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/** The software RNIC: STag table, listeners (verticles per event loop) and a shared TCP client. */
final class IwarpDevice implements RdmaDevice {

  private static final AtomicInteger RANDOM_PORT_KEYS = new AtomicInteger(-1_000_000);

  private final Vertx vertx;
  private final IwarpOptions options;
  private final NetClient client;
  private final Map<Integer, SoftMemoryRegion> regions = new ConcurrentHashMap<>();
  private final AtomicInteger nextIndex = new AtomicInteger(1);
  private final SecureRandom random = new SecureRandom();
  private final List<String> deployments = new CopyOnWriteArrayList<>();

  IwarpDevice(Vertx vertx, IwarpOptions options) {
    this.vertx = vertx;
    this.options = options;
    this.client = vertx.createNetClient(new NetClientOptions().setTcpNoDelay(true)
        .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, options.mpaTimeoutMillis())));
  }

  Vertx vertx() {
    return vertx;
  }

  IwarpOptions options() {
    return options;
  }

  NetClient client() {
    return client;
  }

  @Override
  public String provider() {
    return IwarpProvider.NAME;
  }

  @Override
  public DeviceCapabilities capabilities() {
    return new DeviceCapabilities(0x3fff, 0x3fff, options.maxPrivateData(), 1 << 16, Integer.MAX_VALUE, true);
  }

  @Override
  public ProtectionDomain allocateProtectionDomain() {
    return new SoftProtectionDomain(this);
  }

  /**
   * A new region. RFC 5040 §2.1: the STag is a 24-bit index and an 8-bit key; the key is random so
   * a stale or guessed STag rarely names a live region. Tagged offsets are synthetic addresses, one
   * 4 GiB window per index, so a peer that ignores the base offset misses.
   */
  SoftMemoryRegion newRegion(SoftProtectionDomain pd, io.netty.buffer.ByteBuf buffer, Set<Access> access) {
    while (true) {
      int index = nextIndex.getAndIncrement() & 0xffffff;
      if (index == 0) continue;
      int stag = (index << 8) | (random.nextInt(255) + 1);
      // Access.ZERO_BASED: tagged offsets from 0 (RFC 5046 iSER's STags carry no base offset).
      long address = access.contains(Access.ZERO_BASED) ? 0 : (0x100L + index) << 32;
      SoftMemoryRegion mr = new SoftMemoryRegion(pd, stag, address, buffer, access);
      if (regions.putIfAbsent(stag, mr) == null) return mr;
    }
  }

  SoftMemoryRegion lookup(int stag) {
    return regions.get(stag);
  }

  void forget(SoftMemoryRegion mr) {
    regions.remove(mr.stag(), mr);
  }

  @Override
  public RdmaConnection createConnection(ProtectionDomain pd, QueuePairOptions qp) {
    return IwarpConnection.active(this, (ContextInternal) vertx.getOrCreateContext(), soft(pd),
        new QueuePairOptions(qp));
  }

  static SoftProtectionDomain soft(ProtectionDomain pd) {
    if (pd instanceof SoftProtectionDomain s) return s;
    throw new IllegalArgumentException("protection domain " + pd + " belongs to another provider");
  }

  @Override
  public Future<RdmaListener> listen(SocketAddress address, Handler<ConnectionRequest> handler) {
    return listen(address, handler, null);
  }

  @Override
  public Future<RdmaListener> listen(SocketAddress address, Handler<ConnectionRequest> handler,
      Handler<StreamingConnection> streaming) {
    // Vert.x shares one listening socket among servers on the same (host, port); for port 0 a
    // negative port is the key that makes the instances share one random port.
    int port = address.port() == 0 ? RANDOM_PORT_KEYS.decrementAndGet() : address.port();
    String host = address.host() == null ? "0.0.0.0" : address.host();
    List<IwarpListenerVerticle> created = new CopyOnWriteArrayList<>();
    return vertx.deployVerticle(() -> {
      IwarpListenerVerticle v = new IwarpListenerVerticle(this, host, port, handler, streaming);
      created.add(v);
      return v;
    }, new DeploymentOptions().setInstances(options.instances())).<RdmaListener>map(id -> {
      deployments.add(id);
      int actual = created.get(0).actualPort();
      return new RdmaListener() {
        @Override
        public int actualPort() {
          return actual;
        }

        @Override
        public Future<Void> close() {
          if (!deployments.remove(id)) return Future.succeededFuture();
          return vertx.undeploy(id);
        }
      };
    }).recover(err -> Future.failedFuture(new IllegalStateException(
        "iWARP listener on " + host + ":" + address.port() + " could not start: " + err.getMessage(), err)));
  }

  @Override
  public Future<Void> close() {
    List<Future<Void>> all = new java.util.ArrayList<>();
    for (String id : deployments) all.add(vertx.undeploy(id));
    deployments.clear();
    all.add(client.close());
    return Future.join(all).mapEmpty();
  }
}
