package io.spindle.rdma.disni;

import com.ibm.disni.verbs.IbvCQ;
import com.ibm.disni.verbs.IbvCompChannel;
import com.ibm.disni.verbs.IbvContext;
import com.ibm.disni.verbs.IbvMr;
import com.ibm.disni.verbs.IbvPd;
import com.ibm.disni.verbs.IbvQP;
import com.ibm.disni.verbs.IbvQPInitAttr;
import com.ibm.disni.verbs.IbvRecvWR;
import com.ibm.disni.verbs.IbvSendWR;
import com.ibm.disni.verbs.IbvSge;
import com.ibm.disni.verbs.IbvWC;
import com.ibm.disni.verbs.RdmaCm;
import com.ibm.disni.verbs.RdmaCmEvent;
import com.ibm.disni.verbs.RdmaCmId;
import com.ibm.disni.verbs.RdmaConnParam;
import com.ibm.disni.verbs.RdmaEventChannel;
import com.ibm.disni.verbs.SVCPollCq;
import com.ibm.disni.verbs.SVCRegMr;
import com.ibm.disni.verbs.SVCReqNotify;
import io.netty.util.internal.PlatformDependent;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedList;
import java.util.List;

/**
 * {@link Verbs} over DiSNI 2.1 (libibverbs and librdmacm through JNI). One event channel carries
 * every id of the device; the device context is that of a probe id bound to the device's address,
 * so all protection domains and completion queues live on the one RNIC that owns the address.
 *
 * <p>DiSNI 2.1 limits, reported by {@link #features()} as all false: CONNECT_REQUEST events carry no
 * private data, accept sends none and fixes IRD/ORD at the device maximum, there is no rdma_reject
 * and no Send with Invalidate opcode.
 */
final class DisniVerbs implements Verbs {

  private static final byte RETRY_COUNT = 7;
  /** 7 means "retry forever" on receiver-not-ready; iSER keeps receives posted, so an RNR is transient. */
  private static final byte RNR_RETRY_COUNT = 7;

  private final String deviceName;
  private final RdmaEventChannel channel;
  private final RdmaCmId probe;
  private final IbvContext context;

  /** A completion queue and the reusable calls polling and arming it. */
  private record Cq(IbvCompChannel channel, IbvCQ cq, IbvWC[] wcs, SVCPollCq poll, SVCReqNotify arm) {
  }

  private DisniVerbs(String deviceName, RdmaEventChannel channel, RdmaCmId probe, IbvContext context) {
    this.deviceName = deviceName;
    this.channel = channel;
    this.probe = probe;
    this.context = context;
  }

  /**
   * Opens the device that owns {@code address}: rdma_cm binds a probe id there and hands back the
   * verbs context of the RNIC behind it.
   */
  static DisniVerbs open(String deviceName, java.net.InetAddress address) throws IOException {
    RdmaEventChannel channel = RdmaEventChannel.createEventChannel();
    RdmaCmId probe = null;
    try {
      probe = channel.createId(RdmaCm.RDMA_PS_TCP);
      probe.bindAddr(new InetSocketAddress(address, 0));
      IbvContext context = probe.getVerbs();
      if (context == null) {
        throw new IOException("rdma_cm found no RDMA device behind " + address.getHostAddress());
      }
      return new DisniVerbs(deviceName, channel, probe, context);
    } catch (IOException | RuntimeException e) {
      if (probe != null) probe.destroyId();
      channel.destroyEventChannel();
      throw e;
    }
  }

  @Override
  public Features features() {
    return Features.DISNI_2_1;
  }

  @Override
  public String deviceName() {
    return deviceName;
  }

  @Override
  public Object allocPd() throws IOException {
    return context.allocPd();
  }

  @Override
  public void deallocPd(Object pd) throws IOException {
    try {
      ((IbvPd) pd).deallocPd();
    } catch (IOException e) {
      throw e;
    } catch (Exception e) {
      throw new IOException(e);
    }
  }

  @Override
  public Mr regMr(Object pd, ByteBuffer direct, int access) throws IOException {
    // The address form: DiSNI's ByteBuffer form reads sun.nio.ch.DirectBuffer, which needs an export.
    long address = PlatformDependent.directBufferAddress(direct) + direct.position();
    SVCRegMr call = ((IbvPd) pd).regMr(address, direct.remaining(), access);
    try {
      IbvMr mr = call.execute().getMr();
      return new Mr(mr, mr.getAddr(), mr.getLength(), mr.getLkey(), mr.getRkey(), access);
    } finally {
      call.free();
    }
  }

  @Override
  public void deregMr(Mr mr) throws IOException {
    ((IbvMr) mr.handle()).deregMr().execute().free();
  }

  @Override
  public Object createCq(int entries) throws IOException {
    IbvCompChannel cc = context.createCompChannel();
    IbvCQ cq = context.createCQ(cc, entries, 0);
    IbvWC[] wcs = new IbvWC[Math.min(entries, 64)];
    for (int i = 0; i < wcs.length; i++) wcs[i] = new IbvWC();
    return new Cq(cc, cq, wcs, cq.poll(wcs, wcs.length), cq.reqNotification(false));
  }

  @Override
  public void destroyCq(Object cq) throws IOException {
    Cq c = (Cq) cq;
    c.poll.free();
    c.arm.free();
    c.cq.destroyCQ();
    c.channel.destroyCompChannel();
  }

  @Override
  public void requestNotify(Object cq) throws IOException {
    ((Cq) cq).arm.execute();
  }

  @Override
  public boolean awaitCompletions(Object cq, int timeoutMillis) throws IOException {
    Cq c = (Cq) cq;
    if (!c.channel.getCqEvent(c.cq, timeoutMillis)) return false;
    c.cq.ackEvents(1);
    return true;
  }

  @Override
  public int pollCq(Object cq, List<Wc> out, int max) throws IOException {
    Cq c = (Cq) cq;
    int n = c.poll.execute().getPolls();
    for (int i = 0; i < n; i++) {
      IbvWC w = c.wcs[i];
      // DiSNI 2.1's IbvWC has no invalidated-rkey field (ibv_wc.invalidated_rkey shares imm_data).
      out.add(new Wc(w.getWr_id(), w.getStatus(), w.getOpcode(), w.getByte_len(), w.getQp_num(), w.getWc_flags(),
          w.getImm_data()));
    }
    return n;
  }

  // ------------------------------------------------------------------ rdma_cm

  @Override
  public Object createId() throws IOException {
    return channel.createId(RdmaCm.RDMA_PS_TCP);
  }

  @Override
  public void bind(Object id, InetSocketAddress address) throws IOException {
    ((RdmaCmId) id).bindAddr(address);
  }

  @Override
  public void listen(Object id, int backlog) throws IOException {
    ((RdmaCmId) id).listen(backlog);
  }

  @Override
  public void resolveAddress(Object id, InetSocketAddress remote, int timeoutMillis) throws IOException {
    ((RdmaCmId) id).resolveAddr(null, remote, timeoutMillis);
  }

  @Override
  public void resolveRoute(Object id, int timeoutMillis) throws IOException {
    ((RdmaCmId) id).resolveRoute(timeoutMillis);
  }

  @Override
  public int createQp(Object id, Object pd, Object cq, QpCaps caps) throws IOException {
    IbvQPInitAttr attr = new IbvQPInitAttr();
    attr.cap().setMax_send_wr(caps.maxSendWr());
    attr.cap().setMax_recv_wr(caps.maxRecvWr());
    attr.cap().setMax_send_sge(caps.maxSendSge());
    attr.cap().setMax_recv_sge(caps.maxRecvSge());
    attr.cap().setMax_inline_data(caps.maxInlineData());
    attr.setQp_type(IbvQP.IBV_QPT_RC);
    attr.setSend_cq(((Cq) cq).cq);
    attr.setRecv_cq(((Cq) cq).cq);
    return ((RdmaCmId) id).createQP((IbvPd) pd, attr).getQp_num();
  }

  @Override
  public void connect(Object id, byte[] privateData, int ird, int ord) throws IOException {
    // DiSNI 2.1: setResponder_resources/setInitiator_depth throw; the native call uses the device maximum.
    RdmaConnParam param = new RdmaConnParam();
    param.setRetry_count(RETRY_COUNT);
    param.setRnr_retry_count(RNR_RETRY_COUNT);
    ByteBuffer data = null;
    if (privateData.length > 0) {
      data = ByteBuffer.allocateDirect(privateData.length);
      data.put(privateData).flip();
      param.setPrivate_data(PlatformDependent.directBufferAddress(data));
      param.setPrivate_data_len((byte) privateData.length);
    }
    ((RdmaCmId) id).connect(param);
    // rdma_connect copied the private data into the request; keep the buffer alive until here.
    java.lang.ref.Reference.reachabilityFence(data);
  }

  @Override
  public void accept(Object id, byte[] privateData, int ird, int ord) throws IOException {
    // DiSNI 2.1's native accept sends no private data and sets IRD = ORD = max_qp_rd_atom.
    RdmaConnParam param = new RdmaConnParam();
    param.setRetry_count(RETRY_COUNT);
    param.setRnr_retry_count(RNR_RETRY_COUNT);
    ((RdmaCmId) id).accept(param);
  }

  @Override
  public void reject(Object id, byte[] privateData) throws IOException {
    // No rdma_reject in DiSNI 2.1: destroying the request's id makes the CM refuse the peer.
    ((RdmaCmId) id).destroyId();
  }

  @Override
  public void disconnect(Object id) throws IOException {
    ((RdmaCmId) id).disconnect();
  }

  @Override
  public void destroyQp(Object id) throws IOException {
    ((RdmaCmId) id).destroyQP();
  }

  @Override
  public void destroyId(Object id) throws IOException {
    ((RdmaCmId) id).destroyId();
  }

  @Override
  public InetSocketAddress localAddress(Object id) throws IOException {
    return (InetSocketAddress) ((RdmaCmId) id).getSource();
  }

  @Override
  public InetSocketAddress remoteAddress(Object id) throws IOException {
    return (InetSocketAddress) ((RdmaCmId) id).getDestination();
  }

  @Override
  public CmEvent getCmEvent(int timeoutMillis) throws IOException {
    RdmaCmEvent e = channel.getCmEvent(timeoutMillis);
    if (e == null) return null;
    CmEventType type = type(e.getEvent());
    CmEvent event = new CmEvent(type, e.getConnIdPriv(), e.getListenIdPriv(), e.getStatus(), new byte[0]);
    e.ackEvent();
    return event;
  }

  private static CmEventType type(int event) {
    RdmaCmEvent.EventType[] all = RdmaCmEvent.EventType.values();
    if (event < 0 || event >= all.length) return CmEventType.OTHER;
    return switch (all[event]) {
      case RDMA_CM_EVENT_ADDR_RESOLVED -> CmEventType.ADDR_RESOLVED;
      case RDMA_CM_EVENT_ADDR_ERROR -> CmEventType.ADDR_ERROR;
      case RDMA_CM_EVENT_ROUTE_RESOLVED -> CmEventType.ROUTE_RESOLVED;
      case RDMA_CM_EVENT_ROUTE_ERROR -> CmEventType.ROUTE_ERROR;
      case RDMA_CM_EVENT_CONNECT_REQUEST -> CmEventType.CONNECT_REQUEST;
      case RDMA_CM_EVENT_CONNECT_RESPONSE -> CmEventType.CONNECT_RESPONSE;
      case RDMA_CM_EVENT_CONNECT_ERROR -> CmEventType.CONNECT_ERROR;
      case RDMA_CM_EVENT_UNREACHABLE -> CmEventType.UNREACHABLE;
      case RDMA_CM_EVENT_REJECTED -> CmEventType.REJECTED;
      case RDMA_CM_EVENT_ESTABLISHED -> CmEventType.ESTABLISHED;
      case RDMA_CM_EVENT_DISCONNECTED -> CmEventType.DISCONNECTED;
      case RDMA_CM_EVENT_DEVICE_REMOVAL -> CmEventType.DEVICE_REMOVAL;
      default -> CmEventType.OTHER;
    };
  }

  @Override
  public void postSend(Object id, List<SendWr> wrs) throws IOException {
    List<IbvSendWR> chain = new ArrayList<>(wrs.size());
    for (SendWr w : wrs) {
      IbvSendWR wr = new IbvSendWR();
      wr.setWr_id(w.wrId());
      wr.setOpcode(w.opcode());
      wr.setSend_flags(w.flags());
      LinkedList<IbvSge> sges = new LinkedList<>();
      for (Sge s : w.sges()) {
        IbvSge sge = new IbvSge();
        sge.setAddr(s.address());
        sge.setLength(s.length());
        sge.setLkey(s.lkey());
        sges.add(sge);
      }
      wr.setSg_list(sges);
      if (w.opcode() == WR_RDMA_WRITE || w.opcode() == WR_RDMA_READ) {
        wr.getRdma().setRemote_addr(w.remoteAddress());
        wr.getRdma().setRkey(w.rkey());
      }
      chain.add(wr);
    }
    // One ibv_post_send for the whole chain. A per-post call object costs an allocation; the
    // stateful reuse of DiSNI (getWrMod) would need a fixed chain shape, which iSER does not have.
    ((RdmaCmId) id).getQp().postSend(chain, null).execute().free();
  }

  @Override
  public void postRecv(Object id, List<RecvWr> wrs) throws IOException {
    List<IbvRecvWR> chain = new ArrayList<>(wrs.size());
    for (RecvWr w : wrs) {
      IbvRecvWR wr = new IbvRecvWR();
      wr.setWr_id(w.wrId());
      IbvSge sge = new IbvSge();
      sge.setAddr(w.sge().address());
      sge.setLength(w.sge().length());
      sge.setLkey(w.sge().lkey());
      LinkedList<IbvSge> sges = new LinkedList<>();
      sges.add(sge);
      wr.setSg_list(sges);
      chain.add(wr);
    }
    ((RdmaCmId) id).getQp().postRecv(chain, null).execute().free();
  }

  @Override
  public void close() {
    try {
      probe.destroyId();
    } catch (IOException ignored) {
      // Closing anyway.
    }
    try {
      channel.destroyEventChannel();
    } catch (IOException ignored) {
      // Closing anyway.
    }
  }
}
