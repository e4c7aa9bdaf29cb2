package io.spindle.rdma.disni;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The verbs and rdma_cm calls the provider makes, on one opened RDMA device. {@link DisniVerbs}
 * maps them onto DiSNI; tests use a software fake with the same observable behaviour (errors move a
 * queue pair to the error state, then every outstanding request completes as flushed; unsignaled
 * successes produce no completion; one send queue completes in posting order).
 *
 * <p>Handles are opaque. Calls may come from any thread except where noted: {@link #getCmEvent} is
 * called by the device's connection-manager thread only, {@link #awaitCompletions} and
 * {@link #pollCq} by its completion thread only.
 */
interface Verbs extends AutoCloseable {

  // ibv_access_flags (libibverbs verbs.h).
  int ACCESS_LOCAL_WRITE = 1;
  int ACCESS_REMOTE_WRITE = 2;
  int ACCESS_REMOTE_READ = 4;

  // ibv_wr_opcode; SEND_WITH_INV is rdma-core's, not reachable through DiSNI 2.1.
  int WR_RDMA_WRITE = 0;
  int WR_SEND = 2;
  int WR_RDMA_READ = 4;
  int WR_SEND_WITH_INV = 9;

  // ibv_send_flags.
  int SEND_FENCE = 1;
  int SEND_SIGNALED = 2;
  int SEND_SOLICITED = 4;
  int SEND_INLINE = 8;

  // ibv_wc_opcode.
  int WC_SEND = 0;
  int WC_RDMA_WRITE = 1;
  int WC_RDMA_READ = 2;
  int WC_RECV = 128;

  // ibv_wc_flags. There is no flag for "the Send was solicited": verbs do not report it.
  int WC_WITH_INV = 1 << 3;

  // ibv_wc_status values the provider distinguishes (libibverbs verbs.h).
  int WC_SUCCESS = 0;
  int WC_LOC_LEN_ERR = 1;
  int WC_LOC_QP_OP_ERR = 2;
  int WC_LOC_PROT_ERR = 4;
  int WC_WR_FLUSH_ERR = 5;
  int WC_LOC_ACCESS_ERR = 8;
  int WC_REM_INV_REQ_ERR = 9;
  int WC_REM_ACCESS_ERR = 10;
  int WC_REM_OP_ERR = 11;
  int WC_RETRY_EXC_ERR = 12;
  int WC_RNR_RETRY_EXC_ERR = 13;
  int WC_REM_INV_RD_REQ_ERR = 16;
  int WC_FATAL_ERR = 19;

  /**
   * What the library can do beyond DiSNI 2.1. Every flag is false for DiSNI 2.1; the provider uses
   * a feature as soon as a library (a patched libdisni, PR #51) reports it.
   *
   * @param requestPrivateData CONNECT_REQUEST events carry the initiator's private data
   * @param acceptPrivateData accept sends private data
   * @param reject a request can be rejected with private data (rdma_reject)
   * @param irdOrd accept and connect take IRD (responder resources) and ORD (initiator depth)
   * @param sendWithInvalidate IBV_WR_SEND_WITH_INV can be posted
   */
  record Features(boolean requestPrivateData, boolean acceptPrivateData, boolean reject, boolean irdOrd,
      boolean sendWithInvalidate) {
    static final Features DISNI_2_1 = new Features(false, false, false, false, false);
    static final Features ALL = new Features(true, true, true, true, true);
  }

  /** Queue-pair sizes (ibv_qp_cap). */
  record QpCaps(int maxSendWr, int maxRecvWr, int maxSendSge, int maxRecvSge, int maxInlineData) {
  }

  /** A registered region (ibv_mr). */
  record Mr(Object handle, long address, int length, int lkey, int rkey, int access) {
  }

  /** One scatter/gather element (ibv_sge). */
  record Sge(long address, int length, int lkey) {
  }

  /** A send-queue work request (ibv_send_wr); {@code remoteAddress}/{@code rkey} for Write and Read. */
  record SendWr(long wrId, int opcode, int flags, List<Sge> sges, long remoteAddress, int rkey, int invalidateRkey) {
    int length() {
      int n = 0;
      for (Sge s : sges) n += s.length();
      return n;
    }
  }

  /** A receive work request with one buffer. */
  record RecvWr(long wrId, Sge sge) {
  }

  /** A work completion (ibv_wc), reduced to what the provider reads. */
  record Wc(long wrId, int status, int opcode, int byteLength, int qpNum, int flags, int invalidatedRkey) {
  }

  /** rdma_cm_event_type values the provider handles. */
  enum CmEventType {
    ADDR_RESOLVED, ADDR_ERROR, ROUTE_RESOLVED, ROUTE_ERROR, CONNECT_REQUEST, CONNECT_RESPONSE, CONNECT_ERROR,
    UNREACHABLE, REJECTED, ESTABLISHED, DISCONNECTED, DEVICE_REMOVAL, OTHER
  }

  /**
   * An rdma_cm event, already acknowledged.
   *
   * @param id the id the event is about (for CONNECT_REQUEST, the new id of the request)
   * @param listenId for CONNECT_REQUEST, the listening id
   * @param privateData the peer's private data, empty when the library does not deliver it
   */
  record CmEvent(CmEventType type, Object id, Object listenId, int status, byte[] privateData) {
  }

  Features features();

  /** The device's name (for messages). */
  String deviceName();

  Object allocPd() throws IOException;

  void deallocPd(Object pd) throws IOException;

  /** Registers {@code length} bytes of a direct buffer's memory. */
  Mr regMr(Object pd, ByteBuffer direct, int access) throws IOException;

  void deregMr(Mr mr) throws IOException;

  /** A completion queue with its own completion channel. */
  Object createCq(int entries) throws IOException;

  void destroyCq(Object cq) throws IOException;

  /** Arms the queue: the next completion wakes {@link #awaitCompletions} (ibv_req_notify_cq). */
  void requestNotify(Object cq) throws IOException;

  /** Waits for a completion event on the queue's channel; false on timeout. Completion thread only. */
  boolean awaitCompletions(Object cq, int timeoutMillis) throws IOException;

  /** Moves up to {@code max} completions into {@code out}; returns how many. Completion thread only. */
  int pollCq(Object cq, List<Wc> out, int max) throws IOException;

  // ------------------------------------------------------------------ rdma_cm

  Object createId() throws IOException;

  void bind(Object id, InetSocketAddress address) throws IOException;

  void listen(Object id, int backlog) throws IOException;

  /** Starts address resolution; ADDR_RESOLVED or ADDR_ERROR follows. */
  void resolveAddress(Object id, InetSocketAddress remote, int timeoutMillis) throws IOException;

  /** Starts route resolution; ROUTE_RESOLVED or ROUTE_ERROR follows. */
  void resolveRoute(Object id, int timeoutMillis) throws IOException;

  /** Creates the id's queue pair, both queues on {@code cq}; returns its number. */
  int createQp(Object id, Object pd, Object cq, QpCaps caps) throws IOException;

  /** ird/ord are ignored unless {@link Features#irdOrd()}; privateData is sent in the CM REQ. */
  void connect(Object id, byte[] privateData, int ird, int ord) throws IOException;

  /** privateData is dropped unless {@link Features#acceptPrivateData()}. */
  void accept(Object id, byte[] privateData, int ird, int ord) throws IOException;

  /** rdma_reject when {@link Features#reject()}, else the request is refused by destroying its id. */
  void reject(Object id, byte[] privateData) throws IOException;

  void disconnect(Object id) throws IOException;

  void destroyQp(Object id) throws IOException;

  void destroyId(Object id) throws IOException;

  InetSocketAddress localAddress(Object id) throws IOException;

  InetSocketAddress remoteAddress(Object id) throws IOException;

  /** The next connection-manager event, or null after {@code timeoutMillis}. CM thread only. */
  CmEvent getCmEvent(int timeoutMillis) throws IOException;

  /** Posts the requests as one chain (one doorbell). */
  void postSend(Object id, List<SendWr> wrs) throws IOException;

  void postRecv(Object id, List<RecvWr> wrs) throws IOException;

  /** Releases the event channel and the device context. */
  @Override
  void close();
}
