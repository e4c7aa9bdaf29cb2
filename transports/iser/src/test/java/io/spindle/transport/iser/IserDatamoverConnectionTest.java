package io.spindle.transport.iser;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.spindle.iscsi.datamover.DatamoverConnection;
import io.spindle.iscsi.datamover.DatamoverListener;
import io.spindle.iscsi.datamover.PortalAddress;
import io.spindle.iscsi.datamover.Transport;
import io.spindle.iscsi.pdu.DataInPdu;
import io.spindle.iscsi.pdu.DataOutPdu;
import io.spindle.iscsi.pdu.LogoutResponsePdu;
import io.spindle.iscsi.pdu.NopOutPdu;
import io.spindle.iscsi.pdu.Pdu;
import io.spindle.iscsi.pdu.R2tPdu;
import io.spindle.iscsi.pdu.ScsiCommandPdu;
import io.spindle.iscsi.pdu.ScsiResponsePdu;
import io.spindle.iscsi.pdu.TaskMgmtRequestPdu;
import io.spindle.rdma.Access;
import io.spindle.rdma.MemoryRegion;
import io.spindle.rdma.ProtectionDomain;
import io.spindle.rdma.QueuePairOptions;
import io.spindle.rdma.RdmaDevice;
import io.spindle.rdma.RdmaProvider;
import io.spindle.rdma.ReceiveRequest;
import io.spindle.rdma.SendRequest;
import io.spindle.rdma.WorkCompletion;
import io.spindle.rdma.tck.Endpoint;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import java.util.ServiceLoader;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The iSER datamover on an {@code iser-iwarp} portal, driven by a hand-made iSER initiator on the
 * software RNIC: control PDUs as Sends, Put_Data as RDMA Write into the initiator's Read STag,
 * Get_Data as RDMA Read from its Write STag, responses with Send with Invalidate.
 */
class IserDatamoverConnectionTest {

  private static final int RX_SIZE = 28 + 48 + 8192;
  /** The portal's closeWaitMillis: well inside Endpoint.WAIT_SECONDS, so the bounded close is seen. */
  private static final long CLOSE_WAIT_MILLIS = 2000;

  private Vertx vertx;
  private Transport.Listener portal;
  private RdmaDevice initiatorDevice;
  private final BlockingQueue<DatamoverConnection> accepted = new LinkedBlockingQueue<>();

  /** The iSCSI layer's side, recording what the datamover tells it. */
  private static final class Recorder implements DatamoverListener {
    final BlockingQueue<Pdu> pdus = new LinkedBlockingQueue<>();
    final BlockingQueue<String> events = new LinkedBlockingQueue<>();

    @Override
    public void controlNotify(Pdu pdu) {
      pdus.add(pdu);
    }

    @Override
    public void dataCompletionNotify(int itt, int r2tSn) {
      events.add("data " + itt + "/" + r2tSn);
    }

    @Override
    public void dataAckNotify(int itt, int dataSn) {
      events.add("ack " + itt + "/" + dataSn);
    }

    @Override
    public void connectionTerminateNotify(String reason) {
      events.add("terminated");
    }
  }

  /** A minimal iSER initiator: its buffers, its receive ring and the connection. */
  private final class Initiator {
    final ProtectionDomain pd = initiatorDevice.allocateProtectionDomain();
    final MemoryRegion readBuffer = pd.allocate(64 * 1024, Access.of(Access.REMOTE_WRITE, Access.LOCAL_WRITE));
    final MemoryRegion writeBuffer = pd.allocate(64 * 1024, Access.of(Access.REMOTE_READ));
    final MemoryRegion rx = pd.allocate(4 * RX_SIZE, Access.of(Access.LOCAL_WRITE));
    final Endpoint ep;
    long wrIds = 100;

    Initiator(int cmFlags) {
      ep = Endpoint.on(vertx.getOrCreateContext(), () -> {
        Endpoint e = new Endpoint(initiatorDevice.createConnection(pd, new QueuePairOptions()));
        for (int i = 0; i < 4; i++) e.connection.postReceive(new ReceiveRequest(i, rx, i * RX_SIZE, RX_SIZE));
        return e;
      });
      CompletableFuture<Void> up = new CompletableFuture<>();
      ep.run(() -> ep.connection.connect(SocketAddress.inetSocketAddress(portal.actualPort(), "127.0.0.1"),
          Buffer.buffer(new byte[] {(byte) cmFlags, 0, 0, 0})).onComplete(ar -> {
            if (ar.succeeded()) up.complete(null);
            else up.completeExceptionally(ar.cause());
          }));
      Endpoint.join(up);
    }

    void send(IserHeader header, Pdu pdu) {
      ByteBuf b = Unpooled.buffer();
      header.encode(b, IserHeader.Format.RFC7145);
      b.writeBytes(pdu.bhs(), 0, Pdu.BHS_LENGTH).writeBytes(pdu.data(), pdu.data().readerIndex(),
          pdu.data().readableBytes());
      pdu.release();
      long id = wrIds++;
      ep.run(() -> ep.connection.postSend(SendRequest.of(id, b)));
    }

    WorkCompletion receive() {
      return ep.completion(WorkCompletion.Opcode.RECEIVE);
    }

    /** The iSCSI opcode of the PDU a receive completion delivered, after checking the iSER header. */
    int opcodeOf(WorkCompletion wc) {
      ByteBuf msg = rx.buffer().slice((int) wc.wrId() * RX_SIZE, wc.byteLength());
      IserHeader h = IserHeader.decode(msg, IserHeader.Format.RFC7145);
      assertEquals(IserHeader.control(), h, "target PDUs carry an iSER header without STags");
      return msg.getByte(msg.readerIndex()) & 0x3f;
    }

    void close() {
      ep.run(() -> ep.connection.disconnect());
      ep.endEvent();
      pd.close();
    }
  }

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    Transport iser = ServiceLoader.load(Transport.class).stream().map(ServiceLoader.Provider::get)
        .filter(t -> t.name().equals("iser-iwarp")).findFirst().orElseThrow();
    portal = Endpoint.await(iser.listen(vertx, new PortalAddress("127.0.0.1", 0),
        new JsonObject().put("instances", 1).put("receiveBuffers", 8).put("closeWaitMillis", CLOSE_WAIT_MILLIS),
        accepted::add));
    initiatorDevice = Endpoint.await(RdmaProvider.load("iwarp").open(vertx, new JsonObject().put("instances", 1)));
  }

  @AfterEach
  void stop() {
    Endpoint.await(portal.close());
    Endpoint.await(initiatorDevice.close());
    Endpoint.await(vertx.close());
  }

  private static byte[] pattern(int n, int seed) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) b[i] = (byte) (i * 13 + seed);
    return b;
  }

  private static byte[] bytes(MemoryRegion mr, int offset, int length) {
    byte[] b = new byte[length];
    mr.buffer().getBytes(offset, b);
    return b;
  }

  private static <T> T on(DatamoverConnection dm, java.util.function.Supplier<Future<T>> call) {
    return Endpoint.await(Endpoint.on(dm.context(), call));
  }

  private DatamoverConnection target(Recorder r) {
    DatamoverConnection dm = Endpoint.take(accepted, "accepted iSER connection");
    assertEquals("iser-iwarp", dm.transport());
    Endpoint.on(dm.context(), () -> {
      dm.listener(r);
      return null;
    });
    return dm;
  }

  private static ScsiCommandPdu command(int itt, boolean read, int length, byte[] immediate) {
    ScsiCommandPdu cmd = new ScsiCommandPdu();
    cmd.read(read);
    cmd.write(!read);
    cmd.expectedDataTransferLength(length);
    cmd.itt(itt);
    cmd.finalBit(true);
    cmd.cdb(new byte[] {read ? (byte) 0x28 : (byte) 0x2a, 0, 0, 0, 0, 0, 0, 0, 8, 0});
    if (immediate != null) cmd.data(Unpooled.wrappedBuffer(immediate));
    return cmd;
  }

  @Test
  void scsiReadIsAnRdmaWriteThenAResponseThatInvalidates() {
    Initiator ini = new Initiator(IserCmPrivateData.ZBVA_NOT_SUPPORTED);
    Recorder r = new Recorder();
    DatamoverConnection dm = target(r);
    ini.send(new IserHeader(IserHeader.CONTROL, false, true, 0, 0, ini.readBuffer.stag(), ini.readBuffer.address()),
        command(7, true, 4096, null));
    ScsiCommandPdu cmd = assertInstanceOf(ScsiCommandPdu.class, Endpoint.take(r.pdus, "command"));
    assertEquals(7, cmd.itt());
    cmd.release();
    byte[] data = pattern(3000, 1);
    DataInPdu in = new DataInPdu();
    in.itt(7);
    in.bufferOffset(1000);
    in.data(Unpooled.wrappedBuffer(data));
    on(dm, () -> dm.putData(in));
    ScsiResponsePdu rsp = new ScsiResponsePdu();
    rsp.itt(7);
    on(dm, () -> dm.sendControl(rsp));
    WorkCompletion wc = ini.receive();
    assertTrue(wc.ok());
    assertEquals(0x21, ini.opcodeOf(wc));
    assertEquals(28 + 48, wc.byteLength());
    assertTrue(wc.invalidated(), "RFC 7145 §7.3.1: the response invalidates the task's STag");
    assertEquals(ini.readBuffer.stag(), wc.invalidatedStag());
    assertFalse(ini.readBuffer.isValid());
    // RFC 5040 §5.5: the Write is placed before the later Send completes at the initiator.
    assertArrayEquals(data, bytes(ini.readBuffer, 1000, 3000));
    assertArrayEquals(new byte[1000], bytes(ini.readBuffer, 0, 1000));
    ini.close();
    assertEquals("terminated", Endpoint.take(r.events, "termination"));
  }

  /**
   * The A bit on Data-In (RFC 5046 §7.3.6): at ErrorRecoveryLevel 1 Data_ACK_Notify follows the
   * RDMA Write's local completion (the data may still be on its way); at level 2 it follows the
   * response to a zero-length RDMA Read
   * posted behind the Write, which the initiator's RNIC answers although the Read STag allows
   * only remote writes (a zero-length Read touches no memory). A Data-In without the A bit is
   * acknowledged by nobody.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(ints = {1, 2})
  void dataInWithTheAckBitRaisesDataAckNotify(int erl) {
    Initiator ini = new Initiator(IserCmPrivateData.ZBVA_NOT_SUPPORTED);
    Recorder r = new Recorder();
    DatamoverConnection dm = target(r);
    Endpoint.on(dm.context(), () -> {
      dm.noticeKeyValues(new io.spindle.iscsi.datamover.DatamoverKeys(false, false, 8192, 8192, erl, true));
      dm.enableDatamover();
      return null;
    });
    ini.send(new IserHeader(IserHeader.CONTROL, false, true, 0, 0, ini.readBuffer.stag(), ini.readBuffer.address()),
        command(9, true, 8192, null));
    Endpoint.take(r.pdus, "command").release();
    byte[] first = pattern(4096, 3);
    byte[] second = pattern(4096, 4);
    DataInPdu plain = new DataInPdu();
    plain.itt(9);
    plain.dataSn(0);
    plain.data(Unpooled.wrappedBuffer(first));
    on(dm, () -> dm.putData(plain));
    DataInPdu acked = new DataInPdu();
    acked.itt(9);
    acked.dataSn(1);
    acked.bufferOffset(4096);
    acked.ackRequested(true);
    acked.data(Unpooled.wrappedBuffer(second));
    on(dm, () -> dm.putData(acked));
    assertEquals("ack 9/1", Endpoint.take(r.events, "Data_ACK_Notify at ERL " + erl));
    if (erl == 2) {
      assertArrayEquals(second, bytes(ini.readBuffer, 4096, 4096), "at ERL 2 acknowledged data is placed");
      assertArrayEquals(first, bytes(ini.readBuffer, 0, 4096));
    }
    ini.close();
    assertEquals("terminated", Endpoint.take(r.events, "termination (and no other acknowledgement)"));
  }

  @Test
  void scsiWriteIsAnRdmaReadAfterTheImmediateData() {
    Initiator ini = new Initiator(IserCmPrivateData.ZBVA_NOT_SUPPORTED);
    Recorder r = new Recorder();
    DatamoverConnection dm = target(r);
    byte[] all = pattern(8192, 5);
    ini.writeBuffer.buffer().setBytes(0, all);
    // As Linux: immediate data in the command, Write Base Offset past it.
    ini.send(new IserHeader(IserHeader.CONTROL, true, false, ini.writeBuffer.stag(), ini.writeBuffer.address() + 512,
        0, 0), command(9, false, 8192, java.util.Arrays.copyOf(all, 512)));
    ScsiCommandPdu cmd = assertInstanceOf(ScsiCommandPdu.class, Endpoint.take(r.pdus, "command"));
    assertEquals(512, cmd.data().readableBytes());
    cmd.release();
    R2tPdu r2t = new R2tPdu();
    r2t.itt(9);
    r2t.ttt(0x55);
    r2t.lun(0x0001_0000_0000_0000L);
    r2t.bufferOffset(512);
    r2t.desiredDataTransferLength(8192 - 512);
    r2t.r2tSn(0);
    on(dm, () -> dm.getData(r2t));
    DataOutPdu out = assertInstanceOf(DataOutPdu.class, Endpoint.take(r.pdus, "fetched data"));
    assertEquals(9, out.itt());
    assertEquals(0x55, out.ttt());
    assertEquals(512, out.bufferOffset());
    assertEquals(0x0001_0000_0000_0000L, out.lun());
    assertTrue(out.finalBit());
    byte[] got = new byte[8192 - 512];
    out.data().getBytes(out.data().readerIndex(), got);
    assertArrayEquals(java.util.Arrays.copyOfRange(all, 512, 8192), got);
    out.release();
    assertEquals("data 9/0", Endpoint.take(r.events, "data completion"));
    Endpoint.on(dm.context(), () -> {
      dm.deallocateTaskResources(9);
      return null;
    });
    ini.close();
  }

  /**
   * RFC 7145 §7.3: a TASK REASSIGN carries the reassigned task's STags for this connection in its
   * iSER header; Put_Data and Get_Data for the referenced ITT use them. The whole Data-Out buffer is
   * advertised (no unsolicited part), so a recovery R2T's buffer offset is added to the Write Base
   * Offset as it is.
   */
  @Test
  void taskReassignAdvertisesTheReferencedTasksStags() {
    Initiator ini = new Initiator(IserCmPrivateData.ZBVA_NOT_SUPPORTED);
    Recorder r = new Recorder();
    DatamoverConnection dm = target(r);
    byte[] out = pattern(8192, 6);
    ini.writeBuffer.buffer().setBytes(0, out);
    TaskMgmtRequestPdu tmf = new TaskMgmtRequestPdu();
    tmf.function(TaskMgmtRequestPdu.TASK_REASSIGN).referencedTaskTag(11).itt(12);
    ini.send(new IserHeader(IserHeader.CONTROL, true, true, ini.writeBuffer.stag(), ini.writeBuffer.address(),
        ini.readBuffer.stag(), ini.readBuffer.address()), tmf);
    TaskMgmtRequestPdu got = assertInstanceOf(TaskMgmtRequestPdu.class, Endpoint.take(r.pdus, "TMF"));
    assertEquals(11, got.referencedTaskTag());
    got.release();
    R2tPdu r2t = new R2tPdu();
    r2t.itt(11);
    r2t.ttt(0x66);
    r2t.bufferOffset(1024);
    r2t.desiredDataTransferLength(2048);
    on(dm, () -> dm.getData(r2t));
    DataOutPdu fetched = assertInstanceOf(DataOutPdu.class, Endpoint.take(r.pdus, "fetched data"));
    assertEquals(1024, fetched.bufferOffset());
    byte[] data = new byte[2048];
    fetched.data().getBytes(fetched.data().readerIndex(), data);
    assertArrayEquals(java.util.Arrays.copyOfRange(out, 1024, 3072), data);
    fetched.release();
    assertEquals("data 11/0", Endpoint.take(r.events, "data completion"));
    byte[] in = pattern(4096, 7);
    DataInPdu d = new DataInPdu();
    d.itt(11);
    d.bufferOffset(4096);
    d.data(Unpooled.wrappedBuffer(in));
    on(dm, () -> dm.putData(d));
    ScsiResponsePdu rsp = new ScsiResponsePdu();
    rsp.itt(11);
    on(dm, () -> dm.sendControl(rsp));
    WorkCompletion wc = ini.receive();
    assertEquals(0x21, ini.opcodeOf(wc));
    assertArrayEquals(in, bytes(ini.readBuffer, 4096, 4096));
    ini.close();
    assertEquals("terminated", Endpoint.take(r.events, "termination"));
  }

  @Test
  void noSendWithInvalidateWhenTheInitiatorRefusesIt() {
    Initiator ini = new Initiator(IserCmPrivateData.ZBVA_NOT_SUPPORTED | IserCmPrivateData.SEND_WITH_INVALIDATE_NOT_SUPPORTED);
    Recorder r = new Recorder();
    DatamoverConnection dm = target(r);
    ini.send(new IserHeader(IserHeader.CONTROL, false, true, 0, 0, ini.readBuffer.stag(), ini.readBuffer.address()),
        command(3, true, 512, null));
    Endpoint.take(r.pdus, "command").release();
    ScsiResponsePdu rsp = new ScsiResponsePdu();
    rsp.itt(3);
    on(dm, () -> dm.sendControl(rsp));
    WorkCompletion wc = ini.receive();
    assertFalse(wc.invalidated());
    assertTrue(ini.readBuffer.isValid());
    ini.close();
  }

  @Test
  void helloIsAnsweredWithHelloReply() {
    Initiator ini = new Initiator(IserCmPrivateData.ZBVA_NOT_SUPPORTED);
    target(new Recorder());
    ByteBuf hello = Unpooled.buffer();
    new IserHello.Hello(IserHello.VERSION_RFC7145, IserHello.VERSION_RFC7145, 4).encode(hello, IserHeader.Format.RFC7145);
    ini.ep.run(() -> ini.ep.connection.postSend(SendRequest.of(1, hello)));
    WorkCompletion wc = ini.receive();
    ByteBuf msg = ini.rx.buffer().slice((int) wc.wrId() * RX_SIZE, wc.byteLength());
    IserHello.HelloReply reply = IserHello.HelloReply.decode(msg, IserHeader.Format.RFC7145);
    assertNotNull(reply);
    assertFalse(reply.reject());
    assertEquals(IserHello.VERSION_RFC7145, reply.currentVersion());
    assertTrue(reply.ord() >= 1 && reply.ord() <= 4);
    ini.close();
  }

  @Test
  void dataForATaskWithoutStagsOrOverTheLimitIsRefusedLocally() {
    Initiator ini = new Initiator(IserCmPrivateData.ZBVA_NOT_SUPPORTED);
    DatamoverConnection dm = target(new Recorder());
    DataInPdu in = new DataInPdu();
    in.itt(42);
    in.data(Unpooled.wrappedBuffer(new byte[16]));
    assertTrue(Endpoint.on(dm.context(), () -> dm.putData(in)).failed(), "no Read STag for the task");
    ScsiResponsePdu big = new ScsiResponsePdu();
    big.data(Unpooled.wrappedBuffer(new byte[9000]));
    assertTrue(Endpoint.on(dm.context(), () -> dm.sendControl(big)).failed(), "over InitiatorRecvDataSegmentLength");
    assertEquals(0, in.refCnt());
    assertEquals(0, big.refCnt());
    ini.close();
  }
  /**
   * RFC 7143 §11.15: after the Logout Response the initiator closes the connection. The target
   * does not disconnect first (Linux ib_iser logs "detected conn error" when the target's FIN beats
   * its own teardown): the connection still carries what the initiator sends until it disconnects.
   */
  @Test
  void afterALogoutResponseTheInitiatorDisconnectsFirst() {
    Initiator ini = new Initiator(IserCmPrivateData.ZBVA_NOT_SUPPORTED);
    Recorder r = new Recorder();
    DatamoverConnection dm = target(r);
    LogoutResponsePdu rsp = new LogoutResponsePdu();
    rsp.itt(5);
    on(dm, () -> dm.sendControl(rsp));
    Future<Void> closed = Endpoint.on(dm.context(), dm::terminate);
    assertEquals(0x26, ini.opcodeOf(ini.receive()));
    NopOutPdu nop = new NopOutPdu();
    nop.itt(6);
    ini.send(IserHeader.control(), nop);
    assertInstanceOf(NopOutPdu.class, Endpoint.take(r.pdus, "a NOP-Out sent after the Logout Response")).release();
    assertFalse(closed.isComplete(), "the target closed before the initiator");
    ini.close();
    Endpoint.await(closed);
    assertEquals("terminated", Endpoint.take(r.events, "termination"));
  }

  /** An initiator that stays after the Logout Response is disconnected after closeWaitMillis. */
  @Test
  void anInitiatorThatDoesNotDisconnectAfterLogoutIsDisconnected() {
    Initiator ini = new Initiator(IserCmPrivateData.ZBVA_NOT_SUPPORTED);
    Recorder r = new Recorder();
    DatamoverConnection dm = target(r);
    LogoutResponsePdu rsp = new LogoutResponsePdu();
    on(dm, () -> dm.sendControl(rsp));
    Future<Void> closed = Endpoint.on(dm.context(), dm::terminate);
    assertEquals(0x26, ini.opcodeOf(ini.receive()));
    ini.ep.endEvent();
    Endpoint.await(closed);
    assertEquals("terminated", Endpoint.take(r.events, "termination"));
    ini.pd.close();
  }

  /**
   * A close never drops work requests still queued: 20 RDMA Reads (more than the ORD of 16 lets out
   * at once, so the last ones and the Send behind them wait on the queue pair) and the SCSI
   * Response, then terminate at once. Every Read completes and the initiator gets the response
   * before the target disconnects.
   */
  @Test
  void terminateDeliversTheWorkRequestsStillQueuedFirst() {
    Initiator ini = new Initiator(IserCmPrivateData.ZBVA_NOT_SUPPORTED);
    Recorder r = new Recorder();
    DatamoverConnection dm = target(r);
    byte[] all = pattern(20 * 256, 9);
    ini.writeBuffer.buffer().setBytes(0, all);
    ini.send(new IserHeader(IserHeader.CONTROL, true, false, ini.writeBuffer.stag(), ini.writeBuffer.address(), 0, 0),
        command(8, false, all.length, null));
    Endpoint.take(r.pdus, "command").release();
    Future<Void> closed = Endpoint.on(dm.context(), () -> {
      for (int i = 0; i < 20; i++) {
        R2tPdu r2t = new R2tPdu();
        r2t.itt(8);
        r2t.ttt(0x100 + i);
        r2t.bufferOffset(i * 256);
        r2t.desiredDataTransferLength(256);
        r2t.r2tSn(i);
        dm.getData(r2t);
      }
      ScsiResponsePdu rsp = new ScsiResponsePdu();
      rsp.itt(8);
      dm.sendControl(rsp);
      return dm.terminate();
    });
    for (int i = 0; i < 20; i++) {
      DataOutPdu out = assertInstanceOf(DataOutPdu.class, Endpoint.take(r.pdus, "fetched data " + i));
      byte[] got = new byte[256];
      out.data().getBytes(out.data().readerIndex(), got);
      assertArrayEquals(java.util.Arrays.copyOfRange(all, (int) out.bufferOffset(), (int) out.bufferOffset() + 256), got);
      out.release();
    }
    WorkCompletion wc = ini.receive();
    assertTrue(wc.ok(), wc.toString());
    assertEquals(0x21, ini.opcodeOf(wc));
    ini.ep.endEvent();
    Endpoint.await(closed);
    ini.pd.close();
  }
}
