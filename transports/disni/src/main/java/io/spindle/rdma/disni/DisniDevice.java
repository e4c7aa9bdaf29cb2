package io.spindle.rdma.disni;

import io.spindle.rdma.ConnectionEvent;
import io.spindle.rdma.ConnectionRequest;
import io.spindle.rdma.DeviceCapabilities;
import io.spindle.rdma.ProtectionDomain;
import io.spindle.rdma.QueuePairOptions;
import io.spindle.rdma.RdmaConnection;
import io.spindle.rdma.RdmaDevice;
import io.spindle.rdma.RdmaListener;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.net.SocketAddress;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An opened RNIC: one completion queue shared by all queue pairs, polled by a dedicated thread that
 * hands each queue pair's completions to its connection's context, and one rdma_cm event channel
 * read by a second thread that routes events to listeners and connections. Both threads block in
 * the kernel (completion channel, event channel) rather than spin: the host's cores are shared.
 */
final class DisniDevice implements RdmaDevice {

  private static final Logger log = LoggerFactory.getLogger(DisniDevice.class);
  /** How long the threads block before looking at the close flag. */
  private static final int WAIT_MILLIS = 200;
  private static final int POLL_BATCH = 32;
  /** A request neither accepted nor rejected by then is rejected. */
  static final long REQUEST_TIMEOUT_MILLIS = 10_000;

  private final Vertx vertx;
  private final Verbs verbs;
  private final DisniOptions options;
  private final Object cq;
  private final Map<Integer, DisniConnection> queuePairs = new ConcurrentHashMap<>();
  private final Map<Object, DisniConnection> ids = new ConcurrentHashMap<>();
  private final Map<Object, Listener> listeners = new ConcurrentHashMap<>();
  private final AtomicInteger reservedCompletions = new AtomicInteger();
  private final Thread completionThread;
  private final Thread cmThread;
  private final Promise<Void> freed = Promise.promise();
  private volatile boolean closing;

  DisniDevice(Vertx vertx, Verbs verbs, DisniOptions options) throws IOException {
    this.vertx = vertx;
    this.verbs = verbs;
    this.options = options;
    this.cq = verbs.createCq(options.completionQueueEntries());
    this.completionThread = new Thread(this::pollCompletions, "disni-cq-" + verbs.deviceName());
    this.cmThread = new Thread(this::readCmEvents, "disni-cm-" + verbs.deviceName());
    completionThread.setDaemon(true);
    cmThread.setDaemon(true);
    completionThread.start();
    cmThread.start();
  }

  Verbs verbs() {
    return verbs;
  }

  DisniOptions options() {
    return options;
  }

  Object completionQueue() {
    return cq;
  }

  @Override
  public String provider() {
    return DisniProvider.NAME;
  }

  /**
   * DiSNI has no ibv_query_device: the depths are what the options ask for. Accept and reject carry
   * no private data and there is no Send with Invalidate until a library lifts it.
   */
  @Override
  public DeviceCapabilities capabilities() {
    Verbs.Features f = verbs.features();
    return new DeviceCapabilities(QueuePairOptions.DEFAULT_IRD, QueuePairOptions.DEFAULT_ORD,
        f.acceptPrivateData() ? 196 : 0, options.completionQueueEntries(), Integer.MAX_VALUE, f.sendWithInvalidate());
  }

  @Override
  public ProtectionDomain allocateProtectionDomain() {
    return new DisniProtectionDomain(verbs, options);
  }

  static DisniProtectionDomain disni(ProtectionDomain pd) {
    if (pd instanceof DisniProtectionDomain d) return d;
    throw new IllegalArgumentException("protection domain " + pd + " belongs to another provider");
  }

  // ------------------------------------------------------------------ completion queue accounting

  /** Every queue pair's queues must fit in the shared completion queue, or completions would be lost. */
  void reserveCompletions(int n) {
    int now = reservedCompletions.addAndGet(n);
    if (now > options.completionQueueEntries()) {
      reservedCompletions.addAndGet(-n);
      throw new IllegalStateException("completion queue of " + options.completionQueueEntries()
          + " entries is full (" + (now - n) + " reserved, " + n + " more asked): raise completionQueueEntries");
    }
  }

  void releaseCompletions(int n) {
    reservedCompletions.addAndGet(-n);
  }

  void queuePairCreated(int qpNum, DisniConnection c) {
    queuePairs.put(qpNum, c);
  }

  void connectionReleased(DisniConnection c, int qpNum) {
    if (qpNum >= 0) queuePairs.remove(qpNum, c);
    ids.remove(c.id(), c);
  }

  // ------------------------------------------------------------------ connections

  @Override
  public RdmaConnection createConnection(ProtectionDomain pd, QueuePairOptions qp) {
    DisniProtectionDomain d = disni(pd);
    if (closing) throw new IllegalStateException("device is closed");
    Object id;
    try {
      id = verbs.createId();
    } catch (IOException e) {
      throw new IllegalStateException("rdma_create_id failed: " + e.getMessage(), e);
    }
    DisniConnection c = DisniConnection.active(this, (ContextInternal) vertx.getOrCreateContext(), d,
        new QueuePairOptions(qp), id);
    ids.put(id, c);
    return c;
  }

  @Override
  public Future<RdmaListener> listen(SocketAddress address, Handler<ConnectionRequest> handler) {
    if (closing) return Future.failedFuture(new IllegalStateException("device is closed"));
    String host = address.host() == null ? "0.0.0.0" : address.host();
    Object id = null;
    try {
      id = verbs.createId();
      verbs.bind(id, new InetSocketAddress(host, address.port()));
      verbs.listen(id, options.backlog());
      int port = verbs.localAddress(id).getPort();
      Listener l = new Listener(id, port, handler);
      listeners.put(id, l);
      return Future.succeededFuture(l);
    } catch (IOException | RuntimeException e) {
      if (id != null) {
        try {
          verbs.destroyId(id);
        } catch (IOException ignored) {
          // Nothing bound.
        }
      }
      return Future.failedFuture(new IllegalStateException("RDMA listener on " + host + ":" + address.port()
          + " (" + verbs.deviceName() + ") could not start: " + e.getMessage(), e));
    }
  }

  private final class Listener implements RdmaListener {
    final Object id;
    final int port;
    final Handler<ConnectionRequest> handler;

    Listener(Object id, int port, Handler<ConnectionRequest> handler) {
      this.id = id;
      this.port = port;
      this.handler = handler;
    }

    @Override
    public int actualPort() {
      return port;
    }

    @Override
    public Future<Void> close() {
      if (listeners.remove(id) == null) return Future.succeededFuture();
      try {
        verbs.destroyId(id);
      } catch (IOException e) {
        return Future.failedFuture(e);
      }
      return Future.succeededFuture();
    }
  }

  /** A CONNECT_REQUEST waiting for the ULP's decision, on the context the connection will use. */
  private final class Request implements ConnectionRequest {
    final Object id;
    final ContextInternal context;
    final byte[] privateData;
    final InetSocketAddress remote;
    final InetSocketAddress local;
    DisniConnection connection;
    boolean decided;

    Request(Object id, ContextInternal context, byte[] privateData, InetSocketAddress remote, InetSocketAddress local) {
      this.id = id;
      this.context = context;
      this.privateData = privateData;
      this.remote = remote;
      this.local = local;
    }

    @Override
    public io.vertx.core.Context context() {
      return context;
    }

    @Override
    public SocketAddress remoteAddress() {
      return remote == null ? null : SocketAddress.inetSocketAddress(remote);
    }

    @Override
    public SocketAddress localAddress() {
      return local == null ? null : SocketAddress.inetSocketAddress(local);
    }

    /** Empty with DiSNI 2.1: its CONNECT_REQUEST events do not carry the initiator's private data. */
    @Override
    public Buffer privateData() {
      return Buffer.buffer(privateData);
    }

    @Override
    public int peerIrd() {
      return -1;
    }

    @Override
    public int peerOrd() {
      return -1;
    }

    @Override
    public RdmaConnection createConnection(ProtectionDomain pd, QueuePairOptions qp) {
      if (connection != null) throw new IllegalStateException("connection already created for this request");
      if (decided) throw new IllegalStateException("request already rejected");
      connection = DisniConnection.passive(DisniDevice.this, context, disni(pd), new QueuePairOptions(qp), id, remote,
          local);
      connection.requestPrivateData(privateData);
      ids.put(id, connection);
      return connection;
    }

    @Override
    public Future<RdmaConnection> accept(Buffer data) {
      if (decided) return Future.failedFuture(new IllegalStateException("request already decided"));
      if (connection == null) return Future.failedFuture(new IllegalStateException("createConnection first"));
      decided = true;
      return connection.accept(data == null ? new byte[0] : data.getBytes());
    }

    @Override
    public Future<Void> reject(Buffer data) {
      if (decided) return Future.failedFuture(new IllegalStateException("request already decided"));
      decided = true;
      if (connection != null) {
        connection.end(ConnectionEvent.Type.ERROR, "rejected");
        return Future.succeededFuture();
      }
      try {
        verbs.reject(id, data == null ? new byte[0] : data.getBytes());
      } catch (IOException e) {
        return Future.failedFuture(e);
      }
      return Future.succeededFuture();
    }
  }

  // ------------------------------------------------------------------ threads

  private void readCmEvents() {
    while (!stopping()) {
      Verbs.CmEvent e;
      try {
        e = verbs.getCmEvent(WAIT_MILLIS);
      } catch (IOException ex) {
        log.warn("{}: reading rdma_cm events failed: {}", verbs.deviceName(), ex.toString());
        break;
      }
      if (e != null) dispatch(e);
    }
  }

  private void dispatch(Verbs.CmEvent e) {
    if (e.type() == Verbs.CmEventType.CONNECT_REQUEST) {
      Listener l = listeners.get(e.listenId());
      if (l == null) {
        refuse(e.id());
        return;
      }
      InetSocketAddress remote = null;
      InetSocketAddress local = null;
      try {
        remote = verbs.remoteAddress(e.id());
        local = verbs.localAddress(e.id());
      } catch (IOException ignored) {
        // Addresses are for logs only.
      }
      ContextInternal ctx = (ContextInternal) vertx.getOrCreateContext();
      Request r = new Request(e.id(), ctx, e.privateData(), remote, local);
      ctx.runOnContext(v -> {
        try {
          l.handler.handle(r);
        } catch (RuntimeException ex) {
          log.warn("{}: connection request handler failed: {}", verbs.deviceName(), ex.toString());
        }
        if (!r.decided) {
          vertx.setTimer(REQUEST_TIMEOUT_MILLIS, t -> ctx.runOnContext(x -> {
            if (!r.decided) r.reject(Buffer.buffer());
          }));
        }
      });
      return;
    }
    DisniConnection c = ids.get(e.id());
    if (c != null) c.context().runOnContext(v -> c.cmEvent(e));
  }

  private void refuse(Object id) {
    try {
      verbs.reject(id, new byte[0]);
    } catch (IOException ignored) {
      // The peer times out.
    }
  }

  private void pollCompletions() {
    List<Verbs.Wc> batch = new ArrayList<>(POLL_BATCH);
    try {
      while (!stopping()) {
        if (verbs.pollCq(cq, batch, POLL_BATCH) > 0) {
          deliver(batch);
          continue;
        }
        // Arm, then poll once more: a completion that arrived before arming raises no event.
        verbs.requestNotify(cq);
        if (verbs.pollCq(cq, batch, POLL_BATCH) > 0) {
          deliver(batch);
          continue;
        }
        verbs.awaitCompletions(cq, WAIT_MILLIS);
      }
    } catch (IOException | RuntimeException e) {
      log.error("{}: completion polling stopped: {}", verbs.deviceName(), e.toString());
      for (DisniConnection c : queuePairs.values()) {
        c.context().runOnContext(v -> c.end(ConnectionEvent.Type.ERROR, "completion queue failed: " + e));
      }
    } finally {
      shutdown();
    }
  }

  /** Completions grouped by queue pair, each group one task on its connection's context. */
  private void deliver(List<Verbs.Wc> batch) {
    // In CQ order of first appearance: a queue pair whose completions were queued first hears of them first.
    Map<Integer, List<Verbs.Wc>> byQp = new LinkedHashMap<>();
    for (Verbs.Wc wc : batch) byQp.computeIfAbsent(wc.qpNum(), k -> new ArrayList<>(4)).add(wc);
    batch.clear();
    for (Map.Entry<Integer, List<Verbs.Wc>> e : byQp.entrySet()) {
      DisniConnection c = queuePairs.get(e.getKey());
      // A queue pair already freed: its late completions have nobody to go to.
      if (c != null) c.context().runOnContext(v -> c.completions(e.getValue()));
    }
  }

  /** After close, the threads run on until the last connection is released. */
  private boolean stopping() {
    return closing && queuePairs.isEmpty() && ids.isEmpty();
  }

  /** Completes once the threads stopped and the completion queue and event channel are freed. */
  Future<Void> freed() {
    return freed.future();
  }

  private synchronized void shutdown() {
    if (freed.future().isComplete()) return;
    try {
      cmThread.join(4L * WAIT_MILLIS);
      verbs.destroyCq(cq);
    } catch (IOException | InterruptedException e) {
      log.debug("{}: freeing the completion queue: {}", verbs.deviceName(), e.toString());
    }
    verbs.close();
    freed.tryComplete();
  }

  /**
   * Closes the listeners. Established connections are not touched: the device's threads, queue and
   * event channel are freed in the background once the last of them has been released.
   */
  @Override
  public Future<Void> close() {
    if (!closing) {
      for (Listener l : new ArrayList<>(listeners.values())) l.close();
      closing = true;
    }
    return Future.succeededFuture();
  }
}
