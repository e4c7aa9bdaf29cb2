package io.spindle.rdma.disni;

import io.netty.util.internal.PlatformDependent;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A software RNIC behind the {@link Verbs} seam, behaving as verbs do where the provider can tell:
 * keys are checked against protection domain, rights and bounds; an error completes the failing
 * request with the error status, moves the queue pair to the error state and flushes everything
 * still posted (errors always complete, unsignaled successes never do); one send queue executes
 * in order and a Send with no receive posted waits (RNR retry "forever", as the provider
 * configures); a responder-side access violation puts the responder's queue pair in error too.
 * rdma_cm events flow as for RC over IB: both ends get DISCONNECTED, the passive queue pair stays
 * usable until its owner disconnects. With {@link Verbs.Features#DISNI_2_1} no private data
 * travels with requests, accepts or rejects, as with the real library.
 *
 * <p>Memory is real: registered addresses are direct-buffer addresses, and data moves with
 * memory copies, so the provider's address arithmetic is exercised as on hardware.
 */
final class FakeVerbs implements Verbs {

  private final Features features;
  private final Map<Integer, MrEntry> byLkey = new HashMap<>();
  private final Map<Integer, MrEntry> byRkey = new HashMap<>();
  private final Map<Integer, FakeId> listeners = new HashMap<>();
  private final BlockingQueue<CmEvent> cmEvents = new LinkedBlockingQueue<>();
  /** Every ibv_post_send chain, for tests that check chaining. */
  final List<List<SendWr>> sendPosts = new ArrayList<>();
  final List<List<RecvWr>> recvPosts = new ArrayList<>();
  /** rdma_cm and post calls in order ("postRecv", "accept", ...), for ordering checks. */
  final List<String> calls = new ArrayList<>();
  int registrations;
  private int nextKey = 0x1000;
  private int nextQp = 100;
  private int nextPort = 30000;
  private int pds;

  FakeVerbs(Features features) {
    this.features = features;
  }

  private static final class Pd {
    final int n;
    boolean freed;

    Pd(int n) {
      this.n = n;
    }
  }

  private record MrEntry(Pd pd, long address, int length, int access, int lkey, int rkey) {
    boolean covers(long addr, long len) {
      return addr >= address && len >= 0 && addr + len <= address + length;
    }
  }

  private static final class Cq {
    final int entries;
    final ArrayDeque<Wc> queue = new ArrayDeque<>();
    boolean armed;
    boolean event;
    boolean overrun;

    Cq(int entries) {
      this.entries = entries;
    }
  }

  private enum QpState { NONE, INIT, RTS, ERROR }

  private final class FakeId {
    InetSocketAddress local;
    InetSocketAddress remote;
    FakeId peer;
    FakeId listenFor;
    Pd pd;
    Cq cq;
    int qpNum = -1;
    QpState qp = QpState.NONE;
    boolean connected;
    boolean destroyed;
    final ArrayDeque<RecvWr> receives = new ArrayDeque<>();
    final ArrayDeque<SendWr> sendQueue = new ArrayDeque<>();
  }

  @Override
  public Features features() {
    return features;
  }

  @Override
  public String deviceName() {
    return "fake0";
  }

  @Override
  public synchronized Object allocPd() {
    return new Pd(++pds);
  }

  @Override
  public synchronized void deallocPd(Object pd) throws IOException {
    Pd p = (Pd) pd;
    for (MrEntry e : byLkey.values()) {
      if (e.pd == p) throw new IOException("EBUSY: memory regions still registered in the protection domain");
    }
    p.freed = true;
  }

  @Override
  public synchronized Mr regMr(Object pd, ByteBuffer direct, int access) throws IOException {
    if (((Pd) pd).freed) throw new IOException("EINVAL: protection domain freed");
    if ((access & ACCESS_REMOTE_WRITE) != 0 && (access & ACCESS_LOCAL_WRITE) == 0) {
      throw new IOException("EINVAL: remote write needs local write");
    }
    registrations++;
    long address = PlatformDependent.directBufferAddress(direct) + direct.position();
    int lkey = nextKey++;
    int rkey = nextKey++;
    MrEntry e = new MrEntry((Pd) pd, address, direct.remaining(), access, lkey, rkey);
    byLkey.put(lkey, e);
    byRkey.put(rkey, e);
    return new Mr(e, address, e.length, lkey, rkey, access);
  }

  @Override
  public synchronized void deregMr(Mr mr) throws IOException {
    MrEntry e = (MrEntry) mr.handle();
    if (byLkey.remove(e.lkey) == null) throw new IOException("EINVAL: not registered");
    byRkey.remove(e.rkey);
  }

  synchronized int registeredRegions() {
    return byLkey.size();
  }

  @Override
  public synchronized Object createCq(int entries) {
    return new Cq(entries);
  }

  @Override
  public synchronized void destroyCq(Object cq) {
  }

  @Override
  public synchronized void requestNotify(Object cq) {
    ((Cq) cq).armed = true;
  }

  @Override
  public synchronized boolean awaitCompletions(Object cq, int timeoutMillis) throws IOException {
    Cq c = (Cq) cq;
    long deadline = System.currentTimeMillis() + timeoutMillis;
    while (!c.event) {
      long left = deadline - System.currentTimeMillis();
      if (left <= 0) return false;
      try {
        wait(left);
      } catch (InterruptedException e) {
        throw new IOException(e);
      }
    }
    c.event = false;
    return true;
  }

  @Override
  public synchronized int pollCq(Object cq, List<Wc> out, int max) throws IOException {
    Cq c = (Cq) cq;
    if (c.overrun) throw new IOException("completion queue overrun");
    int n = 0;
    while (n < max && !c.queue.isEmpty()) {
      out.add(c.queue.poll());
      n++;
    }
    return n;
  }

  private void complete(FakeId id, Wc wc) {
    Cq c = id.cq;
    if (c.queue.size() >= c.entries) {
      c.overrun = true;
      return;
    }
    c.queue.add(wc);
    if (c.armed) {
      c.armed = false;
      c.event = true;
      notifyAll();
    }
  }

  // ------------------------------------------------------------------ rdma_cm

  @Override
  public synchronized Object createId() {
    return new FakeId();
  }

  @Override
  public synchronized void bind(Object id, InetSocketAddress address) throws IOException {
    int port = address.getPort() == 0 ? nextPort++ : address.getPort();
    if (listeners.containsKey(port)) throw new IOException("EADDRINUSE: port " + port);
    ((FakeId) id).local = new InetSocketAddress(address.getAddress(), port);
  }

  @Override
  public synchronized void listen(Object id, int backlog) {
    FakeId f = (FakeId) id;
    listeners.put(f.local.getPort(), f);
  }

  @Override
  public synchronized void resolveAddress(Object id, InetSocketAddress remote, int timeoutMillis) {
    FakeId f = (FakeId) id;
    f.remote = remote;
    f.local = new InetSocketAddress(remote.getAddress(), nextPort++);
    cmEvents.add(new CmEvent(CmEventType.ADDR_RESOLVED, f, null, 0, new byte[0]));
  }

  @Override
  public synchronized void resolveRoute(Object id, int timeoutMillis) {
    cmEvents.add(new CmEvent(CmEventType.ROUTE_RESOLVED, id, null, 0, new byte[0]));
  }

  @Override
  public synchronized int createQp(Object id, Object pd, Object cq, QpCaps caps) throws IOException {
    FakeId f = (FakeId) id;
    if (((Pd) pd).freed) throw new IOException("EINVAL: protection domain freed");
    if (f.qp != QpState.NONE) throw new IOException("EINVAL: the id has a queue pair");
    f.pd = (Pd) pd;
    f.cq = (Cq) cq;
    f.qpNum = nextQp++;
    f.qp = QpState.INIT;
    return f.qpNum;
  }

  @Override
  public synchronized void connect(Object id, byte[] privateData, int ird, int ord) throws IOException {
    FakeId f = (FakeId) id;
    if (f.qp == QpState.NONE) throw new IOException("EINVAL: no queue pair");
    FakeId listener = listeners.get(f.remote.getPort());
    if (listener == null) {
      // IB CM: no listener on the service id means a reject from the remote CM.
      cmEvents.add(new CmEvent(CmEventType.REJECTED, f, null, 28, new byte[0]));
      return;
    }
    FakeId req = new FakeId();
    req.local = listener.local;
    req.remote = f.local;
    req.peer = f;
    req.listenFor = listener;
    f.peer = req;
    cmEvents.add(new CmEvent(CmEventType.CONNECT_REQUEST, req, listener, 0,
        features.requestPrivateData() ? privateData.clone() : new byte[0]));
  }

  @Override
  public synchronized void accept(Object id, byte[] privateData, int ird, int ord) throws IOException {
    FakeId req = (FakeId) id;
    if (req.qp == QpState.NONE) throw new IOException("EINVAL: no queue pair");
    calls.add("accept");
    FakeId active = req.peer;
    req.qp = QpState.RTS;
    active.qp = QpState.RTS;
    req.connected = true;
    active.connected = true;
    cmEvents.add(new CmEvent(CmEventType.ESTABLISHED, active, null, 0,
        features.acceptPrivateData() ? privateData.clone() : new byte[0]));
    cmEvents.add(new CmEvent(CmEventType.ESTABLISHED, req, null, 0, new byte[0]));
  }

  @Override
  public synchronized void reject(Object id, byte[] privateData) {
    FakeId req = (FakeId) id;
    req.destroyed = true;
    cmEvents.add(new CmEvent(CmEventType.REJECTED, req.peer, null, 28,
        features.reject() ? privateData.clone() : new byte[0]));
  }

  @Override
  public synchronized void disconnect(Object id) throws IOException {
    FakeId f = (FakeId) id;
    if (f.qp != QpState.NONE) toError(f);
    if (!f.connected) return;
    f.connected = false;
    cmEvents.add(new CmEvent(CmEventType.DISCONNECTED, f, null, 0, new byte[0]));
    FakeId p = f.peer;
    if (p != null && p.connected) {
      p.connected = false;
      cmEvents.add(new CmEvent(CmEventType.DISCONNECTED, p, null, 0, new byte[0]));
    }
  }

  @Override
  public synchronized void destroyQp(Object id) {
    FakeId f = (FakeId) id;
    f.qp = QpState.NONE;
    f.receives.clear();
    f.sendQueue.clear();
  }

  @Override
  public synchronized void destroyId(Object id) {
    FakeId f = (FakeId) id;
    if (f.destroyed) return;
    f.destroyed = true;
    if (f.local != null && listeners.get(f.local.getPort()) == f) listeners.remove(f.local.getPort());
    // A request destroyed before accept is refused (rdma_destroy_id on a CONNECT_REQUEST id).
    if (f.listenFor != null && !f.connected && f.qp != QpState.RTS && f.qp != QpState.ERROR && f.peer != null) {
      cmEvents.add(new CmEvent(CmEventType.REJECTED, f.peer, null, 28, new byte[0]));
    }
  }

  @Override
  public synchronized InetSocketAddress localAddress(Object id) {
    return ((FakeId) id).local;
  }

  @Override
  public synchronized InetSocketAddress remoteAddress(Object id) {
    return ((FakeId) id).remote;
  }

  @Override
  public CmEvent getCmEvent(int timeoutMillis) throws IOException {
    try {
      return cmEvents.poll(timeoutMillis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      throw new IOException(e);
    }
  }

  // ------------------------------------------------------------------ data path

  @Override
  public synchronized void postSend(Object id, List<SendWr> wrs) throws IOException {
    FakeId f = (FakeId) id;
    if (f.qp == QpState.NONE || f.qp == QpState.INIT) throw new IOException("EINVAL: queue pair not ready to send");
    sendPosts.add(List.copyOf(wrs));
    if (f.qp == QpState.ERROR) {
      for (SendWr w : wrs) complete(f, new Wc(w.wrId(), WC_WR_FLUSH_ERR, 0, 0, f.qpNum, 0, 0));
      return;
    }
    f.sendQueue.addAll(wrs);
    pump(f);
  }

  @Override
  public synchronized void postRecv(Object id, List<RecvWr> wrs) throws IOException {
    FakeId f = (FakeId) id;
    if (f.qp == QpState.NONE) throw new IOException("EINVAL: no queue pair");
    recvPosts.add(List.copyOf(wrs));
    calls.add("postRecv");
    if (f.qp == QpState.ERROR) {
      for (RecvWr w : wrs) complete(f, new Wc(w.wrId(), WC_WR_FLUSH_ERR, 0, 0, f.qpNum, 0, 0));
      return;
    }
    f.receives.addAll(wrs);
    if (f.peer != null && f.peer.qp == QpState.RTS) pump(f.peer);
  }

  /** Executes the send queue in order until it is empty or a Send waits for a receive. */
  private void pump(FakeId f) {
    while (f.qp == QpState.RTS && !f.sendQueue.isEmpty()) {
      SendWr w = f.sendQueue.peek();
      int status = execute(f, w);
      if (status < 0) return;
      f.sendQueue.poll();
      if (status != WC_SUCCESS) {
        complete(f, new Wc(w.wrId(), status, 0, 0, f.qpNum, 0, 0));
        toError(f);
        return;
      }
      if ((w.flags() & SEND_SIGNALED) != 0) {
        int op = switch (w.opcode()) {
          case WR_RDMA_WRITE -> WC_RDMA_WRITE;
          case WR_RDMA_READ -> WC_RDMA_READ;
          default -> WC_SEND;
        };
        complete(f, new Wc(w.wrId(), WC_SUCCESS, op, w.opcode() == WR_RDMA_READ ? w.length() : 0, f.qpNum, 0, 0));
      }
    }
  }

  private void toError(FakeId f) {
    if (f.qp == QpState.ERROR || f.qp == QpState.NONE) return;
    f.qp = QpState.ERROR;
    for (SendWr w : f.sendQueue) complete(f, new Wc(w.wrId(), WC_WR_FLUSH_ERR, 0, 0, f.qpNum, 0, 0));
    f.sendQueue.clear();
    for (RecvWr r : f.receives) complete(f, new Wc(r.wrId(), WC_WR_FLUSH_ERR, 0, 0, f.qpNum, 0, 0));
    f.receives.clear();
  }

  /** A local key's region, when the range is inside it with the rights; null otherwise. */
  private MrEntry local(FakeId f, Sge s, boolean write, boolean inline) {
    if (inline && !write) return new MrEntry(f.pd, s.address(), s.length(), 0, 0, 0);
    MrEntry e = byLkey.get(s.lkey());
    if (e == null || e.pd != f.pd || !e.covers(s.address(), s.length())) return null;
    if (write && (e.access & ACCESS_LOCAL_WRITE) == 0) return null;
    return e;
  }

  private MrEntry remote(FakeId target, int rkey, long address, int length, int right) {
    MrEntry e = byRkey.get(rkey);
    if (e == null || e.pd != target.pd || (e.access & right) == 0 || !e.covers(address, length)) return null;
    return e;
  }

  /** The status of one work request, or -1 when a Send must wait for a receive. */
  private int execute(FakeId f, SendWr w) {
    boolean inline = (w.flags() & SEND_INLINE) != 0;
    boolean read = w.opcode() == WR_RDMA_READ;
    for (Sge s : w.sges()) {
      if (local(f, s, read, inline) == null) return WC_LOC_PROT_ERR;
    }
    FakeId p = f.peer;
    if (p == null || p.destroyed || p.qp != QpState.RTS) return WC_RETRY_EXC_ERR;
    switch (w.opcode()) {
      case WR_SEND, WR_SEND_WITH_INV -> {
        if (w.opcode() == WR_SEND_WITH_INV && !features.sendWithInvalidate()) return WC_LOC_QP_OP_ERR;
        RecvWr r = p.receives.peek();
        if (r == null) return -1;
        p.receives.poll();
        if (w.length() > r.sge().length()) {
          complete(p, new Wc(r.wrId(), WC_LOC_LEN_ERR, WC_RECV, 0, p.qpNum, 0, 0));
          toError(p);
          return WC_REM_INV_REQ_ERR;
        }
        if (local(p, r.sge(), true, false) == null) {
          complete(p, new Wc(r.wrId(), WC_LOC_PROT_ERR, WC_RECV, 0, p.qpNum, 0, 0));
          toError(p);
          return WC_REM_OP_ERR;
        }
        long to = r.sge().address();
        for (Sge s : w.sges()) {
          PlatformDependent.copyMemory(s.address(), to, s.length());
          to += s.length();
        }
        int flags = 0;
        if (w.opcode() == WR_SEND_WITH_INV) {
          MrEntry inv = byRkey.get(w.invalidateRkey());
          if (inv == null || inv.pd != p.pd) {
            complete(p, new Wc(r.wrId(), WC_REM_INV_REQ_ERR, WC_RECV, 0, p.qpNum, 0, 0));
            toError(p);
            return WC_REM_OP_ERR;
          }
          byRkey.remove(inv.rkey);
          flags = WC_WITH_INV;
        }
        complete(p, new Wc(r.wrId(), WC_SUCCESS, WC_RECV, w.length(), p.qpNum, flags, w.invalidateRkey()));
        return WC_SUCCESS;
      }
      case WR_RDMA_WRITE -> {
        if (remote(p, w.rkey(), w.remoteAddress(), w.length(), ACCESS_REMOTE_WRITE) == null) {
          toError(p);
          return WC_REM_ACCESS_ERR;
        }
        long to = w.remoteAddress();
        for (Sge s : w.sges()) {
          PlatformDependent.copyMemory(s.address(), to, s.length());
          to += s.length();
        }
        return WC_SUCCESS;
      }
      case WR_RDMA_READ -> {
        if (remote(p, w.rkey(), w.remoteAddress(), w.length(), ACCESS_REMOTE_READ) == null) {
          toError(p);
          return WC_REM_ACCESS_ERR;
        }
        long from = w.remoteAddress();
        for (Sge s : w.sges()) {
          PlatformDependent.copyMemory(from, s.address(), s.length());
          from += s.length();
        }
        return WC_SUCCESS;
      }
      default -> {
        return WC_LOC_QP_OP_ERR;
      }
    }
  }

  @Override
  public void close() {
  }
}
