package io.spindle.transport.iser;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.spindle.iscsi.datamover.DatamoverConnection;
import io.spindle.iscsi.datamover.DatamoverKeys;
import io.spindle.iscsi.datamover.DatamoverListener;
import io.spindle.iscsi.pdu.DataInPdu;
import io.spindle.iscsi.pdu.DataOutPdu;
import io.spindle.iscsi.pdu.LogoutResponsePdu;
import io.spindle.iscsi.pdu.Pdu;
import io.spindle.iscsi.pdu.Pdus;
import io.spindle.iscsi.pdu.R2tPdu;
import io.spindle.iscsi.pdu.ScsiCommandPdu;
import io.spindle.iscsi.pdu.ScsiResponsePdu;
import io.spindle.iscsi.pdu.TargetPdu;
import io.spindle.iscsi.pdu.TaskMgmtRequestPdu;
import io.spindle.rdma.Access;
import io.spindle.rdma.ConnectionEvent;
import io.spindle.rdma.MemoryRegion;
import io.spindle.rdma.ProtectionDomain;
import io.spindle.rdma.RdmaConnection;
import io.spindle.rdma.ReadRequest;
import io.spindle.rdma.ReceiveRequest;
import io.spindle.rdma.SendRequest;
import io.spindle.rdma.WorkCompletion;
import io.spindle.rdma.WriteRequest;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.net.SocketAddress;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The iSER datamover (RFC 7145) of one connection, over any RDMA provider. Control PDUs travel as
 * Sends behind an iSER header; Put_Data is an RDMA Write into the initiator's Read STag; Get_Data
 * is an RDMA Read from its Write STag (the R2T never goes on the wire, RFC 7145 §7.3.5). The SCSI
 * Response of a task that advertised an STag is sent with Invalidate when the initiator allows it.
 *
 * <p>Received control PDUs are copied out of the receive ring (so the buffer can be posted again at
 * once) and passed to {@link DatamoverListener#controlNotify}. Data fetched by Get_Data is handed
 * to the iSCSI layer as a Data-Out PDU with the F bit, built from the R2T, whose data segment is
 * the RDMA Read's buffer (no copy), followed by {@link DatamoverListener#dataCompletionNotify}:
 * the iSCSI layer handles it as it handles iSCSI/TCP Data-Out.
 *
 * <p>All methods run on the RDMA connection's context.
 */
public final class IserDatamoverConnection implements DatamoverConnection {

  private static final Logger log = LoggerFactory.getLogger(IserDatamoverConnection.class);
  /** BHS plus the largest AHS (TotalAHSLength is one byte of 4-byte words). */
  private static final int MAX_HEADERS = Pdu.BHS_LENGTH + 255 * 4;
  private static final int UNSOLICITED_TTT = 0xffffffff;

  private final String transport;
  private final RdmaConnection rdma;
  private final ProtectionDomain pd;
  /** The local region of the zero-length RDMA Reads that prove Data-In placed (ERL 2 Data-ACK). */
  private MemoryRegion ackSink;
  private final IserOptions options;
  private final IserHeader.Format format;
  private final boolean sendWithInvalidate;
  private final int bufferSize;
  private final MemoryRegion receiveRing;
  private final Map<Integer, TaskBuffers> tasks = new HashMap<>();
  private final Map<Long, Consumer<WorkCompletion>> pending = new HashMap<>();
  /**
   * Work requests waiting for room on the send queue: a 1 MiB read at QD 32 is hundreds of RDMA
   * Writes, more than a queue pair holds. They are posted in order as completions free slots, so a
   * SCSI Response still follows its Data-In Writes.
   */
  private final ArrayDeque<Object> backlog = new ArrayDeque<>();
  private final int sendQueueDepth;
  private int posted;
  private DatamoverListener listener;
  private DatamoverKeys pendingKeys;
  /** RFC 7145 §6.3: during login the initiator's receive buffers hold 8192 bytes of data. */
  private int initiatorRecvDataSegmentLength = IserOptions.DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH;
  private long nextWrId = 1L << 32;
  private boolean terminated;
  /** A Logout Response went out: the initiator closes the connection (RFC 7143 §11.15). */
  private boolean logoutResponseSent;
  /** Set by {@link #terminate()}: completes when the connection has ended. */
  private Promise<Void> closing;
  private long closeTimer = -1;
  /**
   * RFC 5046 connection style (login in byte-stream mode, then MPA): the first iSER message must be
   * the initiator's Hello (RFC 5046 §10.1.3), and nothing is sent before the HelloReply.
   */
  private final boolean helloFirst;
  private final Promise<Void> hello = Promise.promise();
  /** RDMA Reads this side keeps outstanding: the queue pair's ORD, lowered to the Hello's iSER-IRD. */
  private int readLimit;
  private int readsPosted;

  /** The initiator's buffers for one task, from the iSER header of its SCSI Command (RFC 7145 §9.2). */
  private static final class TaskBuffers {
    final IserHeader header;
    /** Bytes of the task's Data-Out that arrived unsolicited; the Write Base Offset points past them. */
    int unsolicited;

    TaskBuffers(IserHeader header, int unsolicited) {
      this.header = header;
      this.unsolicited = unsolicited;
    }
  }

  /**
   * Sets up the datamover on a connection that is not yet accepted: allocates and posts the receive
   * ring (RFC 7145 §5.1: before the Login Request can arrive). Call on the connection's context.
   *
   * @param peerAllowsSendWithInvalidate false when the initiator's CM private data said
   *     {@link IserCmPrivateData#sendWithInvalidateNotSupported()}
   */
  public IserDatamoverConnection(String transport, RdmaConnection rdma, ProtectionDomain pd, IserOptions options,
      boolean peerAllowsSendWithInvalidate) {
    this(transport, rdma, pd, options, peerAllowsSendWithInvalidate, options.headerFormat(), false);
  }

  /**
   * As above, with the header layout and the RFC 5046 Hello rule chosen per connection.
   *
   * @param helloFirst RFC 5046 style: the first message must be a Hello ({@link #helloDone()})
   */
  IserDatamoverConnection(String transport, RdmaConnection rdma, ProtectionDomain pd, IserOptions options,
      boolean peerAllowsSendWithInvalidate, IserHeader.Format format, boolean helloFirst) {
    this.transport = transport;
    this.rdma = rdma;
    this.pd = pd;
    this.options = options;
    this.format = format;
    this.helloFirst = helloFirst;
    this.readLimit = Integer.MAX_VALUE;
    if (!helloFirst) hello.tryComplete();
    this.sendWithInvalidate = options.sendWithInvalidate() && peerAllowsSendWithInvalidate;
    this.bufferSize = format.length + MAX_HEADERS + options.maxRecvDataSegmentLength();
    this.sendQueueDepth = options.queuePairOptions().sendQueueDepth();
    this.receiveRing = pd.allocate(bufferSize * options.receiveBuffers(), Access.of(Access.LOCAL_WRITE));
    rdma.completionHandler(this::completion);
    rdma.eventHandler(this::event);
    for (int i = 0; i < options.receiveBuffers(); i++) postReceive(i);
  }

  /**
   * Completes once the HelloReply accepting the initiator's Hello was posted (RFC 5046 style), at
   * once otherwise; fails when the Hello was refused or the connection ended first.
   */
  public Future<Void> helloDone() {
    return hello.future();
  }

  /** Whether this connection answers with Send with Invalidate (both ends agreed). */
  public boolean sendWithInvalidate() {
    return sendWithInvalidate;
  }

  private void postReceive(int index) {
    rdma.postReceive(new ReceiveRequest(index, receiveRing, index * bufferSize, bufferSize));
  }

  @Override
  public String transport() {
    return transport;
  }

  @Override
  public Context context() {
    return rdma.context();
  }

  @Override
  public SocketAddress remoteAddress() {
    return rdma.remoteAddress();
  }

  @Override
  public SocketAddress localAddress() {
    return rdma.localAddress();
  }

  @Override
  public void listener(DatamoverListener listener) {
    this.listener = listener;
  }

  // ------------------------------------------------------------------ receiving

  private void completion(WorkCompletion wc) {
    if (wc.opcode() == WorkCompletion.Opcode.RECEIVE) {
      received(wc);
      return;
    }
    posted--;
    if (wc.opcode() == WorkCompletion.Opcode.RDMA_READ) readsPosted--;
    Consumer<WorkCompletion> c = pending.remove(wc.wrId());
    if (c != null) c.accept(wc);
    drainBacklog();
    if (closing != null) closeWhenDrained();
  }

  /** Posts now when the send queue has room and nothing waits before it, else queues (see {@link #backlog}). */
  private void submit(Object request) {
    if (!backlog.isEmpty() || !roomFor(request)) {
      backlog.add(request);
      return;
    }
    postNow(request);
  }

  /** Send queue room, and for a Read the iSER-ORD (RFC 5046 §10.1.3: at most the initiator's iSER-IRD). */
  private boolean roomFor(Object request) {
    return posted < sendQueueDepth && (!(request instanceof ReadRequest) || readsPosted < readLimit);
  }

  private void postNow(Object request) {
    posted++;
    if (request instanceof ReadRequest) readsPosted++;
    try {
      if (request instanceof SendRequest s) rdma.postSend(s);
      else if (request instanceof WriteRequest w) rdma.postWrite(w);
      else rdma.postRead((ReadRequest) request);
    } catch (RuntimeException e) {
      posted--;
      if (request instanceof ReadRequest) readsPosted--;
      throw e;
    }
  }

  private void drainBacklog() {
    while (!backlog.isEmpty() && roomFor(backlog.peek())) {
      Object request = backlog.poll();
      try {
        postNow(request);
      } catch (RuntimeException e) {
        flush(request, e.toString());
      }
    }
  }

  /** Completes a request that never reached the queue pair as flushed; its buffers are released. */
  private void flush(Object request, String why) {
    long wrId;
    WorkCompletion.Opcode op;
    if (request instanceof SendRequest s) {
      wrId = s.wrId();
      op = WorkCompletion.Opcode.SEND;
      s.payload().release();
    } else if (request instanceof WriteRequest w) {
      wrId = w.wrId();
      op = WorkCompletion.Opcode.RDMA_WRITE;
      w.source().release();
    } else {
      wrId = ((ReadRequest) request).wrId();
      op = WorkCompletion.Opcode.RDMA_READ;
    }
    Consumer<WorkCompletion> c = pending.remove(wrId);
    if (c != null) c.accept(WorkCompletion.error(wrId, op, WorkCompletion.Status.FLUSHED, why));
  }

  private void received(WorkCompletion wc) {
    if (!wc.ok()) {
      if (wc.status() != WorkCompletion.Status.FLUSHED) fail("receive failed: " + wc.status() + " " + wc.detail());
      return;
    }
    int index = (int) wc.wrId();
    ByteBuf message = receiveRing.buffer().slice(index * bufferSize, wc.byteLength());
    IserHeader header = IserHeader.decode(message, format);
    if (header == null) {
      fail("iSER message of " + wc.byteLength() + " bytes is shorter than the iSER header");
      return;
    }
    if (helloFirst && !hello.future().isComplete()) {
      if (header.opcode() == IserHeader.HELLO) {
        hello(message, index);
      } else {
        // RFC 5046 §10.1.3: after the transition the initiator's first iSER message is the Hello.
        postReceive(index);
        fail("protocol error: the first iSER message after the transition to RDMA mode has opcode 0x"
            + Integer.toHexString(header.opcode()) + ", not a Hello (RFC 5046 §10.1.3)");
      }
      return;
    }
    switch (header.opcode()) {
      case IserHeader.CONTROL -> control(header, message, index);
      case IserHeader.HELLO -> hello(message, index);
      default -> fail("iSER opcode 0x" + Integer.toHexString(header.opcode()) + " is not one a target receives");
    }
  }

  /** RFC 7145 §9.2: an iSCSI control PDU follows the iSER header. */
  private void control(IserHeader header, ByteBuf message, int index) {
    if (message.readableBytes() < Pdu.BHS_LENGTH) {
      fail("iSCSI control-type PDU shorter than a BHS");
      return;
    }
    int base = message.readerIndex();
    int ahsLength = message.getUnsignedByte(base + 4) * 4;
    int dataLength = message.getUnsignedMedium(base + 5);
    if (Pdu.BHS_LENGTH + ahsLength + dataLength > message.readableBytes()) {
      fail("PDU lengths (AHS " + ahsLength + ", data " + dataLength + ") exceed the " + message.readableBytes()
          + " bytes received");
      return;
    }
    // One copy out of the ring, so the buffer goes back to the initiator's credit at once.
    ByteBuf bhs = copy(message, base, Pdu.BHS_LENGTH);
    ByteBuf ahs = ahsLength == 0 ? Unpooled.EMPTY_BUFFER : copy(message, base + Pdu.BHS_LENGTH, ahsLength);
    ByteBuf data = dataLength == 0 ? Unpooled.EMPTY_BUFFER
        : copy(message, base + Pdu.BHS_LENGTH + ahsLength, dataLength);
    postReceive(index);
    Pdu pdu = Pdus.wrap(bhs, ahs, data);
    if (pdu instanceof ScsiCommandPdu cmd && (header.readStagValid() || header.writeStagValid())) {
      tasks.put(cmd.itt(), new TaskBuffers(header, dataLength));
    } else if (pdu instanceof TaskMgmtRequestPdu tmf && tmf.function() == TaskMgmtRequestPdu.TASK_REASSIGN
        && (header.readStagValid() || header.writeStagValid())) {
      // RFC 7145 §7.3 (RFC 5046 §7.3): STags belong to one connection, so the initiator advertises
      // the reassigned task's buffers in the TMF's iSER header, registered on this connection.
      // Put_Data (the Data-In not acknowledged) and Get_Data (recovery R2Ts) of the task use them.
      // Unsolicited is 0: the Write STag and Write Base Offset cover the whole Data-Out buffer,
      // so buffer offset N is at Write Base Offset + N (RFC 5046: at N, zero-based). If the
      // target refuses the reassignment the entry stays until the connection ends or the ITT
      // is used again.
      tasks.put(tmf.referencedTaskTag(), new TaskBuffers(header, 0));
    } else if (pdu instanceof DataOutPdu out && out.ttt() == UNSOLICITED_TTT) {
      TaskBuffers t = tasks.get(out.itt());
      // The offset is unsigned (RFC 7143 §11.7.6); past 2^31 it fits no task, which the iSCSI layer rejects.
      if (t != null) t.unsolicited = (int) Math.min(Integer.MAX_VALUE, Math.max(t.unsolicited, out.bufferOffset() + dataLength));
    }
    if (listener == null) {
      pdu.release();
      return;
    }
    listener.controlNotify(pdu);
  }

  private static ByteBuf copy(ByteBuf from, int index, int length) {
    ByteBuf b = PooledByteBufAllocator.DEFAULT.buffer(length, length);
    b.writeBytes(from, index, length);
    return b;
  }

  /**
   * RFC 5046 §9.3-9.4, §10.1.3: answer a Hello with our version and iSER-ORD (at most the
   * initiator's iSER-IRD), or with the reject flag set when we speak none of its versions or when
   * its iSER-IRD is 0 (a target must RDMA Read every Data-Out it solicits, so it cannot work
   * without Reads); a rejected connection is then closed.
   */
  private void hello(ByteBuf message, int index) {
    message.readerIndex(0);
    IserHello.Hello h = IserHello.Hello.decode(message, format);
    postReceive(index);
    if (h == null) {
      fail("truncated iSER Hello");
      return;
    }
    int ours = format == IserHeader.Format.RFC5046 ? IserHello.VERSION_RFC5046 : IserHello.VERSION_RFC7145;
    boolean badVersion = ours < h.minVersion() || ours > h.maxVersion();
    boolean reject = badVersion || (helloFirst && h.ird() == 0);
    int ord = Math.min(rdma.ord(), Math.max(h.ird(), 1));
    ByteBuf reply = PooledByteBufAllocator.DEFAULT.directBuffer(format.length);
    new IserHello.HelloReply(reject, ours, ours, reject ? 0 : ord).encode(reply, format);
    long wrId = nextWrId++;
    pending.put(wrId, wc -> { });
    submit(SendRequest.of(wrId, reply));
    if (reject) {
      String why = badVersion ? "Hello for iSER versions " + h.minVersion() + ".." + h.maxVersion() + ", we speak " + ours
          : "Hello with iSER-IRD 0, but the target RDMA Reads all Data-Out";
      log.warn("iSER connection {}: {}; HelloReply rejects it, closing", remoteAddress(), why);
      hello.tryFail(why);
      terminate();
      return;
    }
    if (helloFirst) {
      // RFC 5046 §10.1.3: the iSER-ORD we announced bounds the Reads we keep outstanding.
      readLimit = ord;
      hello.tryComplete();
    }
  }

  private void event(ConnectionEvent e) {
    if (e.type() == ConnectionEvent.Type.ESTABLISHED) return;
    String reason = e.detail() != null ? e.detail() : e.type().toString().toLowerCase();
    terminated(reason);
  }

  private void terminated(String reason) {
    if (terminated) return;
    terminated = true;
    hello.tryFail("connection ended: " + reason);
    tasks.clear();
    while (!backlog.isEmpty()) flush(backlog.poll(), "connection terminated");
    if (listener != null) listener.connectionTerminateNotify(reason);
    if (closing != null) {
      cancelCloseTimer();
      closing.tryComplete();
    }
    // Flushed completions arrive right after the event; free the memory once they have.
    rdma.context().runOnContext(v -> pd.close());
  }

  private void fail(String reason) {
    log.warn("iSER connection {}: {}", remoteAddress(), reason);
    terminated(reason);
    rdma.disconnect();
  }

  // ------------------------------------------------------------------ Datamover Interface

  @Override
  public Future<Void> sendControl(TargetPdu pdu) {
    if (terminated) {
      pdu.release();
      return Future.failedFuture("iSER connection is closed");
    }
    int dataLength = pdu.data().readableBytes();
    // RFC 7145 §6.3 / Linux: the initiator's buffers hold InitiatorRecvDataSegmentLength bytes of data.
    if (dataLength > initiatorRecvDataSegmentLength) {
      pdu.release();
      return Future.failedFuture(new IllegalArgumentException("data segment of " + dataLength
          + " bytes exceeds InitiatorRecvDataSegmentLength " + initiatorRecvDataSegmentLength));
    }
    ByteBuf headers = PooledByteBufAllocator.DEFAULT.directBuffer(format.length + Pdu.BHS_LENGTH
        + pdu.ahs().readableBytes());
    IserHeader.control().encode(headers, format);
    headers.writeBytes(pdu.bhs(), pdu.bhs().readerIndex(), Pdu.BHS_LENGTH);
    headers.writeBytes(pdu.ahs(), pdu.ahs().readerIndex(), pdu.ahs().readableBytes());
    CompositeByteBuf payload = PooledByteBufAllocator.DEFAULT.compositeDirectBuffer(2);
    payload.addComponent(true, headers);
    if (dataLength > 0) payload.addComponent(true, pdu.data().retainedSlice());
    SendRequest send = SendRequest.of(nextWrId++, payload);
    if (pdu instanceof LogoutResponsePdu) logoutResponseSent = true;
    if (pdu instanceof ScsiResponsePdu && sendWithInvalidate) {
      TaskBuffers t = tasks.get(pdu.itt());
      if (t != null) {
        // As Linux isert: invalidate the Read STag if there is one, else the Write STag. The task's
        // STags are gone for this connection from now on: a later Put_Data for it (a Data SNACK
        // after the response) fails here instead of writing into an invalidated STag, which the
        // initiator's RNIC would answer by terminating the connection.
        send = send.withInvalidate(t.header.readStagValid() ? t.header.readStag() : t.header.writeStag());
        tasks.remove(pdu.itt());
      }
    }
    pdu.release();
    return post(send.wrId(), send);
  }

  private Future<Void> post(long wrId, Object request) {
    Promise<Void> p = Promise.promise();
    pending.put(wrId, wc -> {
      if (wc.ok()) p.complete();
      else p.fail(wc.opcode() + " " + wc.status() + (wc.detail() == null ? "" : ": " + wc.detail()));
    });
    try {
      submit(request);
    } catch (RuntimeException e) {
      pending.remove(wrId);
      p.tryFail(e);
    }
    return p.future();
  }

  @Override
  public Future<Void> putData(DataInPdu pdu) {
    TaskBuffers t = tasks.get(pdu.itt());
    if (terminated || t == null || !t.header.readStagValid()) {
      int itt = pdu.itt();
      pdu.release();
      return Future.failedFuture(terminated ? "iSER connection is closed"
          : "task 0x" + Integer.toHexString(itt) + " advertised no Read STag");
    }
    // RFC 7145 §7.3.4: Data-In is an RDMA Write to Read Base Offset + BufferOffset.
    WriteRequest w = WriteRequest.of(nextWrId++, pdu.data().retainedSlice(), t.header.readStag(),
        t.header.readBaseOffset() + Integer.toUnsignedLong(pdu.bufferOffset()));
    ScsiResponsePdu status = pdu.hasStatus() ? statusOf(pdu) : null;
    boolean ack = pdu.ackRequested();
    int itt = pdu.itt();
    int dataSn = pdu.dataSn();
    pdu.release();
    Future<Void> written = post(w.wrId(), w);
    if (ack) acknowledge(written, t, itt, dataSn);
    if (status == null) return written;
    // RFC 7145 §7.3.4: iSER carries the status in a SCSI Response, never in the last Data-In
    // (phase collapse); RDMAP orders the Send after the Write's placement (RFC 5040 §5.5).
    return sendControl(status);
  }

  /**
   * Data_ACK_Notify for a Data-In the iSCSI layer sent with the A bit (RFC 5046 §7.3.6, RFC 7145
   * §7.3.6): iSER has no DataACK SNACK, so the datamover answers for the initiator. At
   * ErrorRecoveryLevel 1 the local completion of the RDMA Write is enough; at level 2 (or when the
   * level is not known) the data must be known placed in the initiator's buffer, which a zero-length
   * RDMA Read posted behind the Write proves when its response arrives (RDMAP completes a Read only
   * after the Writes before it, RFC 5040 §5.5).
   */
  private void acknowledge(Future<Void> written, TaskBuffers t, int itt, int dataSn) {
    DatamoverKeys k = pendingKeys;
    if (k != null && k.errorRecoveryLevel() == 1) {
      written.onSuccess(v -> dataAcknowledged(itt, dataSn));
      return;
    }
    // A zero-length Read places nothing, so one sink region serves them all (pd.close frees it).
    if (ackSink == null) ackSink = pd.allocate(1, Access.of(Access.LOCAL_WRITE));
    long wrId = nextWrId++;
    pending.put(wrId, wc -> {
      if (wc.ok()) dataAcknowledged(itt, dataSn);
    });
    try {
      submit(ReadRequest.of(wrId, ackSink, 0, 0, t.header.readStag(), t.header.readBaseOffset()));
    } catch (RuntimeException e) {
      pending.remove(wrId);
    }
  }

  private void dataAcknowledged(int itt, int dataSn) {
    if (listener != null) listener.dataAckNotify(itt, dataSn);
  }

  /** The SCSI Response a Data-In with status stands for (RFC 7143 §11.4, §11.7.4 fields). */
  private static ScsiResponsePdu statusOf(DataInPdu d) {
    ScsiResponsePdu r = new ScsiResponsePdu();
    r.itt(d.itt());
    r.response(0).status(d.scsiStatus());
    r.residualFlags(d.overflow(), d.underflow()).residualCount(d.residualCount());
    r.expDataSn(d.dataSn() + 1);
    r.statSn(d.statSn()).expCmdSn(d.expCmdSn()).maxCmdSn(d.maxCmdSn());
    return r;
  }

  @Override
  public Future<Void> getData(R2tPdu r2t) {
    int itt = r2t.itt();
    TaskBuffers t = tasks.get(itt);
    int offset = r2t.bufferOffset();
    int length = r2t.desiredDataTransferLength();
    if (terminated || t == null || !t.header.writeStagValid() || offset < t.unsolicited || length < 0) {
      r2t.release();
      return Future.failedFuture(terminated ? "iSER connection is closed"
          : "task 0x" + Integer.toHexString(itt) + " has no Write STag for offset " + offset);
    }
    // RFC 7145 §7.3.5: the Write Base Offset names the first byte after the unsolicited data.
    // RFC 5046 §9.2 has no base offsets: the Write STag is zero-based over the whole Data-Out
    // buffer, so the tagged offset is the buffer offset itself.
    long remote = format == IserHeader.Format.RFC5046 ? offset
        : t.header.writeBaseOffset() + (offset - t.unsolicited);
    MemoryRegion sink = pd.allocate(length, Access.of(Access.LOCAL_WRITE));
    long lun = r2t.lun();
    int ttt = r2t.ttt();
    int r2tSn = r2t.r2tSn();
    r2t.release();
    long wrId = nextWrId++;
    Promise<Void> p = Promise.promise();
    pending.put(wrId, wc -> {
      if (!wc.ok()) {
        sink.deregister();
        p.fail("RDMA Read for task 0x" + Integer.toHexString(itt) + ": " + wc.status());
        return;
      }
      DataOutPdu out = new DataOutPdu();
      out.finalBit(true);
      out.lun(lun);
      out.itt(itt);
      out.ttt(ttt);
      out.dataSn(0);
      out.bufferOffset(offset);
      out.data(sink.buffer().retainedSlice(0, length));
      sink.deregister();
      p.complete();
      if (listener == null) {
        out.release();
        return;
      }
      listener.controlNotify(out);
      listener.dataCompletionNotify(itt, r2tSn);
    });
    try {
      submit(ReadRequest.of(wrId, sink, 0, length, t.header.writeStag(), remote));
    } catch (RuntimeException e) {
      pending.remove(wrId);
      sink.deregister();
      return Future.failedFuture(e);
    }
    return p.future();
  }

  @Override
  public void noticeKeyValues(DatamoverKeys keys) {
    this.pendingKeys = keys;
  }

  @Override
  public void enableDatamover() {
    DatamoverKeys k = pendingKeys;
    if (k == null) return;
    // RFC 7145 §6.3: the iSCSI layer passes InitiatorRecvDataSegmentLength here; digests stay off
    // (RFC 7145 §6.1: iSER has no digests).
    initiatorRecvDataSegmentLength = k.initiatorMaxRecvDataSegmentLength();
    // RDMAExtensions (irrelevant in discovery, RFC 7145 §6.3) does not change this connection: it
    // was an RDMA connection from the start and stays one.
    if (k.headerDigest() || k.dataDigest()) {
      log.warn("iSER connection {}: digests were negotiated; iSER carries none", remoteAddress());
    }
  }

  @Override
  public void deallocateTaskResources(int itt) {
    tasks.remove(itt);
  }

  @Override
  public void pause() {
    // Flow control is the receive ring (credits) and the iSCSI command window.
  }

  @Override
  public void resume() {
  }

  /**
   * Closes the connection, but never under work requests still queued or posted: a Send dropped at
   * close (the Logout Response, a SCSI Response behind RDMA Writes) leaves the initiator's QP with
   * an error (Linux ib_iser: "QP fatal error"). After a Logout Response the initiator is the one to
   * disconnect (RFC 7143 §11.15; Linux ib_iser reports "detected conn error" when the target's FIN
   * beats its own teardown), so the target waits for that; either wait is bounded by
   * {@link IserOptions#closeWaitMillis()}, after which the target disconnects itself.
   */
  @Override
  public Future<Void> terminate() {
    if (terminated) return rdma.disconnect();
    if (closing != null) return closing.future();
    closing = Promise.promise();
    closeTimer = rdma.context().owner().setTimer(options.closeWaitMillis(), id -> {
      closeTimer = -1;
      if (terminated) return;
      log.info("iSER connection {}: {} after {} ms; disconnecting", remoteAddress(), posted > 0 || !backlog.isEmpty()
          ? (posted + backlog.size()) + " work requests still queued" : "the initiator has not disconnected",
          options.closeWaitMillis());
      disconnect();
    });
    closeWhenDrained();
    return closing.future();
  }

  private void closeWhenDrained() {
    if (terminated || posted > 0 || !backlog.isEmpty()) return;
    // Everything sent has completed; after a logout the initiator's disconnect ends the connection.
    if (!logoutResponseSent) disconnect();
  }

  private void disconnect() {
    cancelCloseTimer();
    rdma.disconnect().onComplete(ar -> closing.tryComplete());
  }

  private void cancelCloseTimer() {
    if (closeTimer >= 0) {
      rdma.context().owner().cancelTimer(closeTimer);
      closeTimer = -1;
    }
  }
}
