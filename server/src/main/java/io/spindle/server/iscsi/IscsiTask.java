package io.spindle.server.iscsi;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.spindle.iscsi.negotiation.SessionParameters;
import io.spindle.iscsi.pdu.DataOutPdu;
import io.spindle.iscsi.pdu.RejectPdu;
import io.spindle.iscsi.pdu.ScsiCommandPdu;
import io.spindle.scsi.Nexus;
import io.spindle.scsi.ScsiCommand;
import io.spindle.scsi.ScsiResult;
import io.spindle.scsi.TaskAttribute;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.List;

/**
 * One SCSI task of a session (RFC 7143 §4.2.2): the command, its Data-Out as it arrives
 * (immediate, unsolicited, solicited by R2T) and the per-transport transfer state. It is the
 * {@link ScsiCommand} the SCSI engine executes; the engine pulls Data-Out with
 * {@link #dataOut(int, int)} and the task sends R2Ts for what has not arrived.
 */
final class IscsiTask implements ScsiCommand {

  static final int RESERVED_TAG = 0xffffffff;

  /** One outstanding R2T (RFC 7143 §11.8) and the Data-Out PDUs answering it. */
  private static final class R2t {
    final int ttt;
    final int offset;
    final int length;
    int received;
    int nextDataSn;

    R2t(int ttt, int offset, int length) {
      this.ttt = ttt;
      this.offset = offset;
      this.length = length;
    }
  }

  final IscsiConnection connection;
  final IscsiSession session;
  private final ScsiCommandPdu command;
  final int itt;
  final int cmdSn;
  private final ByteBuf cdb;
  private final boolean ownsCdb;
  private final TaskAttribute attribute;
  private final int expectedLength;

  // Data-Out state, RFC 7143 §4.2.5.2: bytes arrive in order (DataPDUInOrder and DataSequenceInOrder are Yes).
  private final CompositeByteBuf received = Unpooled.compositeBuffer(1024);
  private final int unsolicitedLimit;
  private boolean unsolicitedDone;
  private int unsolicitedDataSn;
  private int nextR2tOffset;
  private int r2tSn;
  private final List<R2t> r2ts = new ArrayList<>(2);
  private int wantedEnd;
  private Promise<ByteBuf> pending;
  private int pendingOffset;
  private int pendingLength;

  /** When the command arrived (System.nanoTime), for latency. */
  final long arrived = System.nanoTime();
  /** Data-In bytes sent. */
  long dataInBytes;

  /** Data-In PDUs and R2Ts sent: the ExpDataSN of the SCSI Response (RFC 7143 §11.4.8). */
  int dataSnCount;
  boolean delivered;
  private ScsiResult deferred;
  private boolean finished;

  /**
   * @param cdb the CDB: a slice of the command's BHS, or (extended CDB) a buffer the task then owns
   */
  IscsiTask(IscsiConnection connection, IscsiSession session, ScsiCommandPdu command, ByteBuf cdb,
      boolean ownsCdb, TaskAttribute attribute) {
    this.connection = connection;
    this.session = session;
    command.retain();
    this.command = command;
    this.itt = command.itt();
    this.cmdSn = command.cmdSn();
    this.cdb = cdb;
    this.ownsCdb = ownsCdb;
    this.attribute = attribute;
    this.expectedLength = command.expectedDataTransferLength();
    SessionParameters p = session.params;
    int immediate = command.dataSegmentLength();
    this.unsolicitedLimit = p.initialR2T() ? immediate : Math.min(p.firstBurstLength(), expectedLength);
    if (immediate > 0) append(command.data());
    this.unsolicitedDone = !command.write() || command.finalBit() || received.readableBytes() >= unsolicitedLimit;
    this.nextR2tOffset = received.readableBytes();
  }

  /**
   * Checks what the command PDU says about its data against the negotiated rules.
   *
   * @return a Reject reason, or 0 when the command's data fields are acceptable
   */
  static int validateData(ScsiCommandPdu pdu, SessionParameters p) {
    int immediate = pdu.dataSegmentLength();
    if (immediate == 0) return 0;
    // RFC 7143 §13.11, §13.14: immediate data only when negotiated, within FirstBurstLength and EDTL.
    if (!p.immediateData() || !pdu.write() || immediate > p.firstBurstLength()
        || immediate > pdu.expectedDataTransferLength()) {
      return RejectPdu.PROTOCOL_ERROR;
    }
    return 0;
  }

  private void append(ByteBuf data) {
    received.addComponent(true, data.retainedSlice());
  }

  /** The LUN number in single-level addressing (SAM-5 §4.6.4 peripheral / flat). */
  int lunNumber() {
    return (int) ((command.lun() >>> 48) & 0x3fff);
  }

  IscsiObserver.CommandKind kind() {
    return command.write() ? IscsiObserver.CommandKind.WRITE
        : command.read() ? IscsiObserver.CommandKind.READ : IscsiObserver.CommandKind.OTHER;
  }

  long bytesMoved() {
    return command.write() ? received.readableBytes() : dataInBytes;
  }

  // ---- ScsiCommand ----

  @Override
  public Nexus nexus() {
    return session.nexus;
  }

  @Override
  public long lun() {
    return command.lun();
  }

  @Override
  public ByteBuf cdb() {
    return cdb;
  }

  @Override
  public TaskAttribute attribute() {
    return attribute;
  }

  @Override
  public long taskTag() {
    return itt & 0xffffffffL;
  }

  @Override
  public int expectedDataTransferLength() {
    return expectedLength;
  }

  @Override
  public boolean hasDataOut() {
    return command.write();
  }

  @Override
  public boolean hasDataIn() {
    return command.read();
  }

  @Override
  public Context context() {
    return connection.context;
  }

  @Override
  public Future<ByteBuf> dataOut(int offset, int length) {
    if (!command.write() || offset < 0 || length < 0 || (long) offset + length > expectedLength) {
      return Future.failedFuture(new IllegalArgumentException("Data-Out range " + offset + "+" + length
          + " is outside the Expected Data Transfer Length " + expectedLength));
    }
    if (finished) return Future.failedFuture(new IllegalStateException("task 0x" + Integer.toHexString(itt) + " ended"));
    if (pending != null) return Future.failedFuture(new IllegalStateException("a Data-Out pull is already pending"));
    if (offset + length <= received.readableBytes()) {
      return Future.succeededFuture(received.retainedSlice(offset, length));
    }
    pending = Promise.promise();
    pendingOffset = offset;
    pendingLength = length;
    wantedEnd = Math.max(wantedEnd, offset + length);
    if (unsolicitedDone) sendR2ts();
    return pending.future();
  }

  // ---- Data-Out arrival (iSCSI/TCP) ----

  /**
   * Places a Data-Out PDU (RFC 7143 §11.7). Returns 0 when accepted, else the Reject reason;
   * a rejected PDU leaves the task unable to receive its data, so its pull fails.
   */
  int dataOut(DataOutPdu pdu) {
    int offset = pdu.bufferOffset();
    int length = pdu.dataSegmentLength();
    if (pdu.ttt() == RESERVED_TAG) {
      // Unsolicited data: in order, DataSN from 0, within the first burst (RFC 7143 §4.2.5.2, §13.14).
      if (unsolicitedDone || pdu.dataSn() != unsolicitedDataSn || offset != received.readableBytes()
          || offset + length > unsolicitedLimit) {
        return RejectPdu.PROTOCOL_ERROR;
      }
      append(pdu.data());
      unsolicitedDataSn++;
      if (pdu.finalBit() || received.readableBytes() >= unsolicitedLimit) {
        unsolicitedDone = true;
        nextR2tOffset = received.readableBytes();
        if (deferred != null) {
          ScsiResult r = deferred;
          deferred = null;
          connection.sendResult(this, r);
          return 0;
        }
        sendR2ts();
      }
    } else {
      R2t r2t = null;
      for (R2t r : r2ts) {
        if (r.ttt == pdu.ttt()) r2t = r;
      }
      if (r2t == null) return RejectPdu.INVALID_PDU_FIELD;
      // Solicited data answers its R2T in order: DataSN from 0 per R2T (RFC 7143 §11.7.5).
      if (pdu.dataSn() != r2t.nextDataSn || offset != r2t.offset + r2t.received
          || r2t.received + length > r2t.length) {
        return RejectPdu.PROTOCOL_ERROR;
      }
      append(pdu.data());
      r2t.received += length;
      r2t.nextDataSn++;
      if (pdu.finalBit()) {
        if (r2t.received != r2t.length) return RejectPdu.PROTOCOL_ERROR;
        r2ts.remove(r2t);
        sendR2ts();
      }
    }
    completePending();
    return 0;
  }

  /** Fails the pending pull: the data it waits for will not come (bad Data-Out, connection gone). */
  void failDataOut(String why) {
    if (pending != null) {
      Promise<ByteBuf> p = pending;
      pending = null;
      p.tryFail(new IllegalStateException(why));
    }
  }

  private void completePending() {
    if (pending != null && pendingOffset + pendingLength <= received.readableBytes()) {
      Promise<ByteBuf> p = pending;
      pending = null;
      p.complete(received.retainedSlice(pendingOffset, pendingLength));
    }
  }

  private void sendR2ts() {
    SessionParameters p = session.params;
    while (r2ts.size() < p.maxOutstandingR2T() && nextR2tOffset < wantedEnd) {
      int length = Math.min(p.maxBurstLength(), wantedEnd - nextR2tOffset);
      R2t r2t = new R2t(connection.nextTargetTransferTag(), nextR2tOffset, length);
      r2ts.add(r2t);
      nextR2tOffset += length;
      dataSnCount++;
      connection.sendR2t(this, r2t.ttt, r2tSn++, r2t.offset, r2t.length);
    }
  }

  // ---- completion ----

  /** The engine's result: sent now, or once the unsolicited data still in flight has arrived. */
  void complete(ScsiResult result) {
    if (finished) {
      result.release();
      return;
    }
    if (!unsolicitedDone && !result.aborted()) {
      // RFC 7143 §4.2.5.2: the initiator still sends the first burst; answer after it, so no
      // Data-Out arrives for a task that has ended.
      deferred = result;
      return;
    }
    connection.sendResult(this, result);
  }

  /** Releases everything the task holds; idempotent. */
  void finish() {
    if (finished) return;
    finished = true;
    failDataOut("task ended");
    if (deferred != null) {
      deferred.release();
      deferred = null;
    }
    received.release();
    command.release();
    if (ownsCdb) cdb.release();
  }

  boolean finished() {
    return finished;
  }

  @Override
  public String toString() {
    return "task{itt=0x" + Integer.toHexString(itt) + ", cmdSn=" + cmdSn + ", op=0x"
        + Integer.toHexString(cdb.getUnsignedByte(cdb.readerIndex())) + "}";
  }
}
