package io.spindle.initiator.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.spindle.iscsi.codec.CodecLimits;
import io.spindle.iscsi.pdu.DataInPdu;
import io.spindle.iscsi.pdu.Pdu;
import io.spindle.iscsi.pdu.Pdus;
import io.spindle.iscsi.pdu.ScsiCommandPdu;
import io.spindle.iscsi.pdu.ScsiResponsePdu;
import io.spindle.iscsi.pdu.TaskMgmtRequestPdu;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.rdma.Access;
import io.spindle.rdma.ConnectionEvent;
import io.spindle.rdma.MemoryRegion;
import io.spindle.rdma.ProtectionDomain;
import io.spindle.rdma.QueuePairOptions;
import io.spindle.rdma.RdmaConnection;
import io.spindle.rdma.RdmaDevice;
import io.spindle.rdma.ReceiveRequest;
import io.spindle.rdma.SendRequest;
import io.spindle.rdma.WorkCompletion;
import io.spindle.transport.iser.IserCmPrivateData;
import io.spindle.transport.iser.IserHeader;
import io.spindle.transport.iser.IserHello;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.net.SocketAddress;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The initiator's iSER datamover (RFC 7145) over an RDMA provider: login and every control PDU
 * travel as Sends behind the 28-byte iSER header; a task's buffers are registered and advertised
 * in the header of its SCSI Command (Read STag for Data-In, Write STag for the solicited Data-Out,
 * RFC 7145 §9.2). The target places Data-In with RDMA Writes and pulls Data-Out with RDMA Reads, so
 * neither Data-In nor R2T PDUs arrive here: when the SCSI Response of a read comes, the wire hands
 * the session one Data-In PDU holding the whole placed buffer, then the response, so the session's
 * task logic stays the one iSCSI/TCP uses.
 *
 * <p>Connection setup as Linux ib_iser does it: the iSER CM private data says ZBVA is not
 * supported (the header's base offsets are used) and Send with Invalidate is welcome; the receive
 * ring is posted before the connect. All methods run on the connection's context.
 */
final class IserWire implements ConnectionImpl.Wire {

  private static final Logger log = LoggerFactory.getLogger(IserWire.class);

  /** RFC 7145 §6.5: what our receive buffers hold of a data segment; login needs 8192. */
  static final int RECV_DATA_SEGMENT_LENGTH = 65536;
  /** Receive buffers: responses to the commands in flight plus NOP-Ins and asynchronous messages. */
  static final int RECEIVE_BUFFERS = 128;
  /** RDMA Reads the target may have outstanding against our Data-Out buffers (our IRD). */
  static final int IRD = 16;
  /** Room for the longer (RFC 7145) header, so one ring layout serves both styles. */
  private static final int BUFFER_SIZE = IserHeader.Format.RFC7145.length + Pdu.BHS_LENGTH + 255 * 4
      + RECV_DATA_SEGMENT_LENGTH;

  private final ConnectionImpl owner;
  private final RdmaConnection rdma;
  private final ProtectionDomain pd;
  private final MemoryRegion ring;
  private final Map<Integer, Task> tasks = new HashMap<>();
  private final Map<Long, Promise<Void>> pending = new HashMap<>();
  private long nextWrId = 1L << 32;
  private boolean closed;
  /** RFC 7145's 28-byte header, or RFC 5046's 12-byte one (rfc5046 style). */
  private final IserHeader.Format format;
  /** RFC 5046 style: buffers are registered zero-based, the header has no base offsets. */
  private final boolean rfc5046;
  /** RFC 5046 §10.1.3: set while our Hello waits for the target's HelloReply. */
  private Promise<Void> helloReply;

  /** A task's registered buffers. */
  private static final class Task {
    final int expectedDataIn;
    final MemoryRegion read;
    final MemoryRegion write;
    final int unsolicited;

    Task(int expectedDataIn, MemoryRegion read, MemoryRegion write, int unsolicited) {
      this.expectedDataIn = expectedDataIn;
      this.read = read;
      this.write = write;
      this.unsolicited = unsolicited;
    }

    void deregister() {
      if (read != null) read.deregister();
      if (write != null) write.deregister();
    }
  }

  private IserWire(ConnectionImpl owner, RdmaDevice device, IserHeader.Format format) {
    this.owner = owner;
    this.format = format;
    this.rfc5046 = format == IserHeader.Format.RFC5046;
    this.pd = device.allocateProtectionDomain();
    this.rdma = device.createConnection(pd, new QueuePairOptions().ird(IRD).ord(1)
        .receiveQueueDepth(RECEIVE_BUFFERS).sendQueueDepth(4 * RECEIVE_BUFFERS));
    this.ring = pd.allocate(BUFFER_SIZE * RECEIVE_BUFFERS, Access.of(Access.LOCAL_WRITE));
    rdma.completionHandler(this::completion);
    rdma.eventHandler(this::event);
    for (int i = 0; i < RECEIVE_BUFFERS; i++) postReceive(i);
  }

  /** Connects to an iSER portal on {@code context}; the connection is ready for the Login Request. */
  static Future<ConnectionImpl> connect(ContextInternal context, RdmaDevice device, String host, int port) {
    Promise<ConnectionImpl> promise = context.promise();
    context.runOnContext(v -> {
      ConnectionImpl c = new ConnectionImpl(context, new CodecLimits());
      IserWire w;
      try {
        w = new IserWire(c, device, IserHeader.Format.RFC7145);
      } catch (RuntimeException e) {
        promise.fail(e);
        return;
      }
      c.wire(w);
      // Linux ib_iser's request: ZBVA not supported (0x80); Send with Invalidate allowed (0x40 clear).
      w.rdma.connect(SocketAddress.inetSocketAddress(port, host), new IserCmPrivateData(true, false).encode())
          .onComplete(ar -> {
            if (ar.succeeded()) {
              promise.complete(c);
            } else {
              w.closed = true;
              w.pd.close();
              promise.fail(ar.cause());
            }
          });
    });
    return promise.future();
  }

  /**
   * RFC 5046 §5.1, §10.1.3: the login has ended in byte-stream mode with RDMAExtensions=Yes, so the
   * same TCP connection moves to MPA (we send the MPA Request), then our Hello announces our iSER
   * version and iSER-IRD and the target's HelloReply must accept it before the session may use the
   * connection. From here on the connection's wire is this one, with RFC 5046's 12-byte header.
   * Runs on the connection's context.
   */
  static Future<Void> upgrade(ConnectionImpl c, RdmaDevice device, InitiatorOptions options) {
    IserWire w;
    try {
      w = new IserWire(c, device, IserHeader.Format.RFC5046);
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
    Future<Void> connected;
    try {
      // RFC 5046 defines no MPA private data for iSER.
      connected = w.rdma.connect(c.byteStreamSocket(), io.vertx.core.buffer.Buffer.buffer());
      c.removeByteStreamCodec();
    } catch (RuntimeException e) {
      w.pd.close();
      return Future.failedFuture(e);
    }
    c.wire(w);
    return connected.compose(v -> {
      if (!options.isIserHello()) return Future.succeededFuture(); // a broken initiator, for tests
      w.helloReply = Promise.promise();
      ByteBuf hello = PooledByteBufAllocator.DEFAULT.directBuffer(w.format.length);
      new IserHello.Hello(options.getIserHelloMaxVersion(), options.getIserHelloMinVersion(), IRD)
          .encode(hello, w.format);
      w.write(hello).onFailure(err -> w.helloReply.tryFail(err));
      return w.helloReply.future();
    });
  }

  private void postReceive(int index) {
    rdma.postReceive(new ReceiveRequest(index, ring, index * BUFFER_SIZE, BUFFER_SIZE));
  }

  // ------------------------------------------------------------------ sending

  @Override
  public boolean byteStream() {
    return false;
  }

  @Override
  public void prepareTask(ScsiTask task, int unsolicited) {
    int itt = task.itt;
    Task old = tasks.remove(itt);
    if (old != null) old.deregister();
    // RFC 5046 §9.2: STags without base offsets, so the regions are zero-based.
    MemoryRegion read = null;
    ByteBuf placement = task.placementBuffer();
    if (placement != null) {
      // The task's own buffer: what the target placed before a TASK REASSIGN stays in it.
      read = pd.register(placement, rfc5046 ? Access.of(Access.LOCAL_WRITE, Access.REMOTE_WRITE, Access.ZERO_BASED)
          : Access.of(Access.LOCAL_WRITE, Access.REMOTE_WRITE));
    }
    MemoryRegion write = null;
    ByteBuf dataOut = task.dataOutBuffer();
    if (dataOut != null && dataOut.readableBytes() > unsolicited) {
      // The region covers the whole Data-Out; the Write Base Offset skips the unsolicited part.
      ByteBuf slice = dataOut.retainedSlice();
      try {
        // The region retains what it needs. RFC 5046: zero-based, the target reads at the buffer offset.
        write = pd.register(slice, rfc5046 ? Access.of(Access.REMOTE_READ, Access.ZERO_BASED)
            : Access.of(Access.REMOTE_READ));
      } finally {
        slice.release();
      }
    }
    tasks.put(itt, new Task(task.expectedDataIn(), read, write, unsolicited));
  }

  @Override
  public void taskDone(int itt) {
    Task t = tasks.remove(itt);
    if (t != null) t.deregister();
  }

  @Override
  public Future<Void> write(Object msg) {
    if (closed) {
      io.netty.util.ReferenceCountUtil.release(msg);
      return Future.failedFuture("iSER connection is closed");
    }
    ByteBuf payload;
    if (msg instanceof Pdu pdu) {
      payload = encode(pdu);
    } else {
      // Raw bytes (tests of a misbehaving initiator): one Send with exactly these bytes.
      payload = (ByteBuf) msg;
    }
    long wrId = nextWrId++;
    Promise<Void> p = Promise.promise();
    pending.put(wrId, p);
    try {
      rdma.postSend(SendRequest.of(wrId, payload));
    } catch (RuntimeException e) {
      pending.remove(wrId);
      p.tryFail(e);
    }
    return p.future();
  }

  /** iSER header, BHS, AHS, data segment (no digests, RFC 7145 §6.1; no padding, as Linux sends). */
  private ByteBuf encode(Pdu pdu) {
    try {
      IserHeader header = IserHeader.control();
      Task t = null;
      if (pdu instanceof ScsiCommandPdu cmd) {
        t = tasks.get(cmd.itt());
      } else if (pdu instanceof TaskMgmtRequestPdu tmf && tmf.function() == TaskMgmtRequestPdu.TASK_REASSIGN) {
        // RFC 7145 §7.3 (RFC 5046 §7.3): the STags of a reassigned task, on this connection.
        t = tasks.get(tmf.referencedTaskTag());
      }
      if (t != null) {
        // RFC 7145 §9.2: STags and base offsets of the task's buffers; the Write Base Offset
        // names the first byte the target is to read, after the unsolicited data (none for a
        // reassigned task: the whole Data-Out buffer is advertised).
        header = new IserHeader(IserHeader.CONTROL, t.write != null, t.read != null,
            t.write == null ? 0 : t.write.stag(), t.write == null ? 0 : t.write.address() + t.unsolicited,
            t.read == null ? 0 : t.read.stag(), t.read == null ? 0 : t.read.address());
      }
      ByteBuf head = PooledByteBufAllocator.DEFAULT.directBuffer(format.length + Pdu.BHS_LENGTH
          + pdu.ahs().readableBytes());
      header.encode(head, format);
      head.writeBytes(pdu.bhs(), pdu.bhs().readerIndex(), Pdu.BHS_LENGTH);
      head.writeBytes(pdu.ahs(), pdu.ahs().readerIndex(), pdu.ahs().readableBytes());
      if (!pdu.data().isReadable()) return head;
      CompositeByteBuf out = PooledByteBufAllocator.DEFAULT.compositeDirectBuffer(2);
      out.addComponent(true, head);
      out.addComponent(true, pdu.data().retainedSlice());
      return out;
    } finally {
      pdu.release();
    }
  }

  // ------------------------------------------------------------------ receiving

  private void completion(WorkCompletion wc) {
    if (wc.opcode() == WorkCompletion.Opcode.RECEIVE) {
      received(wc);
      return;
    }
    Promise<Void> p = pending.remove(wc.wrId());
    if (p == null) return;
    if (wc.ok()) p.tryComplete();
    else p.tryFail(wc.opcode() + " " + wc.status() + (wc.detail() == null ? "" : ": " + wc.detail()));
  }

  private void received(WorkCompletion wc) {
    if (!wc.ok()) {
      if (wc.status() != WorkCompletion.Status.FLUSHED) fail("receive failed: " + wc.status() + " " + wc.detail());
      return;
    }
    int index = (int) wc.wrId();
    ByteBuf message = ring.buffer().slice(index * BUFFER_SIZE, wc.byteLength());
    IserHeader header = IserHeader.decode(message, format);
    if (helloReply != null && !helloReply.future().isComplete()) {
      message.readerIndex(0);
      postReceive(index);
      helloReply(header, message);
      return;
    }
    if (header != null && header.opcode() == IserHeader.HELLO_REPLY) {
      // RFC 5046 §9.4: we never send Hello, so a HelloReply answers raw bytes a test sent; say what it said.
      IserHello.HelloReply reply = IserHello.HelloReply.decode(message.readerIndex(0), format);
      postReceive(index);
      fail("iSER HelloReply: " + (reply.reject() ? "rejected" : "accepted") + ", target iSER version "
          + reply.maxVersion() + ", ORD " + reply.ord());
      return;
    }
    if (header == null || header.opcode() != IserHeader.CONTROL || message.readableBytes() < Pdu.BHS_LENGTH) {
      fail("iSER message of " + wc.byteLength() + " bytes is not an iSCSI control PDU");
      return;
    }
    int base = message.readerIndex();
    int ahs = message.getUnsignedByte(base + 4) * 4;
    int data = message.getUnsignedMedium(base + 5);
    if (Pdu.BHS_LENGTH + ahs + data > message.readableBytes()) {
      fail("PDU lengths (AHS " + ahs + ", data " + data + ") exceed the " + message.readableBytes() + " bytes received");
      return;
    }
    Pdu pdu = Pdus.wrap(copy(message, base, Pdu.BHS_LENGTH), ahs == 0 ? Unpooled.EMPTY_BUFFER
        : copy(message, base + Pdu.BHS_LENGTH, ahs), data == 0 ? Unpooled.EMPTY_BUFFER
        : copy(message, base + Pdu.BHS_LENGTH + ahs, data));
    postReceive(index);
    if (pdu instanceof ScsiResponsePdu r) {
      Task t = tasks.remove(r.itt());
      if (t != null) {
        checkInvalidation(wc, t);
        if (t.read != null) {
          owner.onMessage(placedDataIn(r, t));
          // The response's ExpDataSN counts the Data-In PDUs the target's iSCSI layer produced,
          // which became RDMA Writes; the session saw the one PDU above. Without this, at
          // ErrorRecoveryLevel >= 1 it would ask for the "missing" ones with SNACK, and the
          // target would write them into the STag the response just invalidated.
          r.expDataSn(1);
        }
        t.deregister();
      }
    } else if (wc.invalidated()) {
      fail("Send with Invalidate of STag 0x" + Integer.toHexString(wc.invalidatedStag()) + " on " + pdu);
      pdu.release();
      return;
    }
    owner.onMessage(pdu);
  }

  /**
   * RFC 5046 §10.1.3: the first message after our Hello must be the HelloReply. A reject ends the
   * connection; so does an iSER-ORD above our iSER-IRD (the target would overrun our Read queue).
   */
  private void helloReply(IserHeader header, ByteBuf message) {
    Promise<Void> p = helloReply;
    if (header == null || header.opcode() != IserHeader.HELLO_REPLY) {
      p.tryFail(new IllegalStateException("protocol error: expected the iSER HelloReply, received iSER opcode "
          + (header == null ? "(short message)" : "0x" + Integer.toHexString(header.opcode()))));
      return;
    }
    IserHello.HelloReply reply = IserHello.HelloReply.decode(message, format);
    if (reply.reject()) {
      p.tryFail(new IllegalStateException("iSER HelloReply: rejected, target iSER version " + reply.maxVersion()));
    } else if (reply.ord() > IRD) {
      p.tryFail(new IllegalStateException("iSER HelloReply: iSER-ORD " + reply.ord() + " exceeds our iSER-IRD " + IRD));
    } else {
      p.tryComplete();
    }
  }

  /** RFC 7145 §7.3.9: the target may invalidate the task's STag with the response; only that one. */
  private void checkInvalidation(WorkCompletion wc, Task t) {
    if (!wc.invalidated()) return;
    int stag = wc.invalidatedStag();
    boolean ours = (t.read != null && t.read.stag() == stag) || (t.write != null && t.write.stag() == stag);
    if (!ours) log.warn("{}: SCSI Response invalidated STag 0x{}, not one of its task", this, Integer.toHexString(stag));
  }

  /**
   * The Data-In the target placed by RDMA Write, as one PDU for the session: DataSN 0, offset 0,
   * the transferred length (expected less an underflow residual).
   */
  private static DataInPdu placedDataIn(ScsiResponsePdu r, Task t) {
    int length = t.expectedDataIn;
    if (r.underflow()) length = Math.max(0, length - r.residualCount());
    DataInPdu d = new DataInPdu();
    d.lun(0).itt(r.itt());
    d.ttt(0xffffffff);
    d.dataSn(0).bufferOffset(0);
    d.finalBit(true);
    d.data(length == 0 ? Unpooled.EMPTY_BUFFER : t.read.buffer().retainedSlice(0, length));
    return d;
  }

  private static ByteBuf copy(ByteBuf from, int index, int length) {
    ByteBuf b = PooledByteBufAllocator.DEFAULT.buffer(length, length);
    b.writeBytes(from, index, length);
    return b;
  }

  private void event(ConnectionEvent e) {
    if (e.type() == ConnectionEvent.Type.ESTABLISHED) return;
    if (e.type() != ConnectionEvent.Type.DISCONNECTED) {
      owner.onException(new IllegalStateException("iSER connection " + e.type().toString().toLowerCase()
          + (e.detail() == null ? "" : ": " + e.detail())));
    }
    closedNow();
  }

  private void closedNow() {
    if (closed) return;
    closed = true;
    for (Task t : tasks.values()) t.deregister();
    tasks.clear();
    owner.onSocketClosed();
    // Flushed completions come right after the event; free the memory once they have.
    rdma.context().runOnContext(v -> pd.close());
  }

  private void fail(String reason) {
    log.warn("{}: {}", this, reason);
    owner.onException(new IllegalStateException(reason));
  }

  @Override
  public Future<Void> close() {
    if (closed) return Future.succeededFuture();
    return rdma.disconnect();
  }

  @Override
  public SocketAddress localAddress() {
    return rdma.localAddress();
  }

  @Override
  public SocketAddress remoteAddress() {
    return rdma.remoteAddress();
  }

  @Override
  public String toString() {
    return "iSER connection " + rdma.localAddress() + " -> " + rdma.remoteAddress();
  }
}
