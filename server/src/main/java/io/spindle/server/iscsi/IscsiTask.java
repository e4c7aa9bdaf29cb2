package io.spindle.server.iscsi;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.spindle.cluster.SessionState;
import io.spindle.iscsi.negotiation.SessionParameters;
import io.spindle.iscsi.pdu.DataInPdu;
import io.spindle.iscsi.pdu.DataOutPdu;
import io.spindle.iscsi.pdu.RejectPdu;
import io.spindle.iscsi.pdu.ScsiCommandPdu;
import io.spindle.scsi.DataOutFailedException;
import io.spindle.scsi.Nexus;
import io.spindle.scsi.ScsiCommand;
import io.spindle.scsi.ScsiResult;
import io.spindle.scsi.TaskAttribute;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One SCSI task of a session (RFC 7143 §4.2.2): the command, its Data-Out as it arrives
 * (immediate, unsolicited, solicited by R2T, or re-requested by recovery R2Ts), and what was sent
 * back (Data-In by DataSN, status) for retransmission and task reassignment. It is the
 * {@link ScsiCommand} the SCSI engine executes: the engine pulls Data-Out with
 * {@link #dataOut(int, int)} and the task sends R2Ts for what has not arrived. Confined to the
 * session's context.
 */
final class IscsiTask implements ScsiCommand {

  static final int RESERVED_TAG = 0xffffffff;

  /** Where a task is in its life. */
  enum State {
    /** Running, or waiting for its data or the engine. */
    ACTIVE,
    /** Status sent; kept until the initiator acknowledges it (ErrorRecoveryLevel &gt; 0). */
    STATUS_SENT,
    /** Its connection failed; waits for TASK REASSIGN until Time2Retain runs out (ERL 2). */
    WAITING_REASSIGN
  }

  /** One outstanding R2T (RFC 7143 §11.8) and the Data-Out PDUs answering it. */
  static final class R2t {
    final int ttt;
    final int r2tSn;
    final int offset;
    final int length;
    int nextOffset;
    int nextDataSn;

    R2t(int ttt, int r2tSn, int offset, int length) {
      this.ttt = ttt;
      this.r2tSn = r2tSn;
      this.offset = offset;
      this.length = length;
      this.nextOffset = offset;
    }
  }

  IscsiConnection connection;
  final IscsiSession session;
  private final ScsiCommandPdu command;
  final int itt;
  final int cmdSn;
  private final ByteBuf cdb;
  private final boolean ownsCdb;
  private final TaskAttribute attribute;
  /** The Expected Data Transfer Length as received: unsigned, up to 2^32 - 1 (RFC 7143 §11.3.5). */
  private final long expectedLength;
  /** When the command arrived (System.nanoTime), for latency. */
  final long arrived = System.nanoTime();
  State state = State.ACTIVE;

  // Data-Out placement (RFC 7143 §4.2.5.2): by offset, holes allowed until recovery R2Ts fill them.
  // Made on the first placement: commands without Data-Out never need it.
  private TreeMap<Integer, ByteBuf> segments;
  /**
   * The first segment placed (immediate data: for a small write all there is), kept outside
   * {@link #segments} until a second one arrives, so such a write makes no map.
   */
  private ByteBuf firstSegment;
  private int firstSegmentOffset;
  private int contiguous;
  private int receivedBytes;
  private final int unsolicitedLimit;
  private boolean unsolicitedDone;
  private int unsolicitedNextOffset;
  private int unsolicitedDataSn;
  private int nextR2tOffset;
  private int r2tSn;
  final List<R2t> r2ts = new ArrayList<>();
  /** R2Ts sent, by R2TSN, for Data/R2T SNACK (ErrorRecoveryLevel &gt; 0). */
  final List<R2t> r2tsSent = new ArrayList<>();
  /** Ranges to request again (recovery R2Ts, RFC 7143 §7.8): {offset, length}. */
  private Deque<int[]> recoveryRanges;
  private int wantedEnd;
  /** When Data-Out last arrived or was asked for (System.nanoTime), to notice a stalled transfer. */
  long lastProgress = System.nanoTime();
  private Promise<ByteBuf> pending;
  private int pendingOffset;
  private int pendingLength;

  // What went back to the initiator.
  /** Data-Out/Data-In sequence numbers used: R2Ts and Data-In PDUs sent (ExpDataSN, RFC 7143 §11.4.8). */
  int dataSnCount;
  // How Data-In is cut into PDUs (RFC 7143 §11.7.1), computed per DataSN instead of stored:
  // PDUs of dataInSegment bytes, each sequence ending at a MaxBurstLength boundary.
  private int dataInSegment;
  private int dataInBurst;
  private int dataInPerBurst;
  private boolean dataInAckRequests;
  /** Data-In PDUs the data takes (DataSN 0 .. count - 1). */
  int dataInPduCount;
  /** The Data-In bytes, kept for retransmission at ErrorRecoveryLevel &gt; 0. */
  ByteBuf dataIn;
  long dataInBytes;
  /** DataSN below which the initiator acknowledged Data-In (DataACK SNACK, RFC 7143 §11.16.1). */
  int dataInAcknowledged;
  /** TTT carried by Data-In PDUs with the A bit, which the DataACK SNACK echoes. */
  int ackTag = RESERVED_TAG;
  /** The engine's outcome, kept for re-sending status after reassignment. */
  ScsiResult result;
  /** The StatSN the status went out with, on {@link #connection}. */
  int statSn;
  private ScsiResult deferred;
  private boolean finished;
  // Cluster replication (SessionReplicator): the last record made, whether a non-idempotent
  // command's start was recorded, and the DataSN a re-executed read resumes Data-In from.
  SessionState.TaskRecord replicated;
  boolean executionRecorded;
  int resumeDataSn;

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
    this.unsolicitedLimit = p.initialR2T() ? immediate : (int) Math.min(p.firstBurstLength(), expectedLength);
    if (immediate > 0) place(0, command.data());
    this.unsolicitedNextOffset = immediate;
    this.unsolicitedDone = !command.write() || command.finalBit() || immediate >= unsolicitedLimit;
    this.nextR2tOffset = immediate;
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

  /** The Extended CDB AHS (type 1, RFC 7143 §11.2.2.3) continuation bytes; empty if none; null if malformed. */
  static ByteBuf extendedCdb(ByteBuf ahs) {
    int i = ahs.readerIndex();
    int end = ahs.writerIndex();
    while (i + 3 <= end) {
      int len = ahs.getUnsignedShort(i);
      int type = ahs.getUnsignedByte(i + 2);
      int total = 3 + len;
      if (i + total > end) return null;
      if (type == 1 && len >= 1) return ahs.slice(i + 4, len - 1);
      i += (total + 3) & ~3;
    }
    return Unpooled.EMPTY_BUFFER;
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
    return command.write() ? receivedBytes : dataInBytes;
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

  /**
   * The EDTL as the engine sees it: capped at 2^31 - 1, more than any CDB this target serves moves
   * (its MAXIMUM TRANSFER LENGTH is far below). {@link #residual} reports against the real one.
   */
  @Override
  public int expectedDataTransferLength() {
    return (int) Math.min(expectedLength, Integer.MAX_VALUE);
  }

  /**
   * The residual to report for the engine's result, against the EDTL as received (RFC 7143
   * §11.4.5): positive for underflow, negative for overflow. The engine's residual is against
   * {@link #expectedDataTransferLength()}, which is capped; the bytes the command moved are the same.
   */
  long residual(ScsiResult r) {
    long moved = expectedDataTransferLength() - (long) r.residual();
    return expectedLength - moved;
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
    return session.context;
  }

  @Override
  public Future<ByteBuf> dataOut(int offset, int length) {
    if (!command.write() || offset < 0 || length < 0 || (long) offset + length > expectedLength) {
      return Future.failedFuture(new IllegalArgumentException("Data-Out range " + offset + "+" + length
          + " is outside the Expected Data Transfer Length " + expectedLength));
    }
    if (finished) {
      return Future.failedFuture(new DataOutFailedException("task 0x" + Integer.toHexString(itt) + " ended",
          DataOutFailedException.DATA_PHASE_ERROR));
    }
    if (pending != null) return Future.failedFuture(new IllegalStateException("a Data-Out pull is already pending"));
    if (offset + length <= contiguous) return Future.succeededFuture(slice(offset, length));
    pending = Promise.promise();
    pendingOffset = offset;
    pendingLength = length;
    wantedEnd = Math.max(wantedEnd, offset + length);
    if (unsolicitedDone && state != State.WAITING_REASSIGN) sendR2ts();
    return pending.future();
  }

  // ---- Data-Out arrival ----

  /**
   * Places a Data-Out PDU (RFC 7143 §11.7). A PDU whose data digest failed advances the sequence
   * but leaves a hole, which a recovery R2T asks for again (RFC 7143 §7.8, ErrorRecoveryLevel &gt; 0).
   *
   * @return 0 when accepted, else the Reject reason (the task then cannot get its data)
   */
  int dataOut(DataOutPdu pdu, boolean digestError) {
    long wireOffset = pdu.bufferOffset();
    int length = pdu.dataSegmentLength();
    // RFC 7143 §11.7.6: the offset is unsigned. No first burst or R2T reaches 2^31 (the engine's EDTL
    // is capped there), so data that far out fits nothing; below it, offset + length cannot overflow.
    if (wireOffset + length > Integer.MAX_VALUE) return RejectPdu.PROTOCOL_ERROR;
    int offset = (int) wireOffset;
    boolean recovering = session.erl() > 0;
    lastProgress = System.nanoTime();
    if (pdu.ttt() == RESERVED_TAG) {
      if (recovering && unsolicitedDone) return 0; // late, after a recovery R2T took over its range
      if (recovering && pdu.dataSn() > unsolicitedDataSn && offset > unsolicitedNextOffset
          && offset + length <= unsolicitedLimit) {
        // Data-Out lost on the way (header discarded, RFC 7143 §7.8): ask for the hole again.
        recoveryRanges().add(new int[] {unsolicitedNextOffset, offset - unsolicitedNextOffset});
        unsolicitedNextOffset = offset;
        unsolicitedDataSn = pdu.dataSn();
      }
      // Unsolicited data: in order, DataSN from 0, within the first burst (RFC 7143 §4.2.5.2, §13.14).
      if (unsolicitedDone || pdu.dataSn() != unsolicitedDataSn || offset != unsolicitedNextOffset
          || offset + length > unsolicitedLimit) {
        return RejectPdu.PROTOCOL_ERROR;
      }
      unsolicitedNextOffset += length;
      unsolicitedDataSn++;
      if (digestError) {
        recoveryRanges().add(new int[] {offset, length});
      } else if (!place(offset, pdu.data())) {
        return RejectPdu.PROTOCOL_ERROR;
      }
      if (pdu.finalBit() || unsolicitedNextOffset >= unsolicitedLimit) {
        unsolicitedDone = true;
        nextR2tOffset = Math.max(nextR2tOffset, unsolicitedNextOffset);
        if (deferred != null) {
          ScsiResult r = deferred;
          deferred = null;
          session.sendResult(this, r);
          return 0;
        }
        sendR2ts();
      }
    } else {
      R2t r2t = null;
      for (R2t r : r2ts) {
        if (r.ttt == pdu.ttt()) r2t = r;
      }
      if (r2t == null) return recovering ? 0 : RejectPdu.INVALID_PDU_FIELD; // late for a replaced R2T
      if (recovering && pdu.dataSn() > r2t.nextDataSn && offset > r2t.nextOffset
          && offset + length <= r2t.offset + r2t.length) {
        recoveryRanges().add(new int[] {r2t.nextOffset, offset - r2t.nextOffset});
        r2t.nextOffset = offset;
        r2t.nextDataSn = pdu.dataSn();
      }
      // Solicited data answers its R2T in order: DataSN from 0 per R2T (RFC 7143 §11.7.5).
      if (pdu.dataSn() != r2t.nextDataSn || offset != r2t.nextOffset || offset + length > r2t.offset + r2t.length) {
        return RejectPdu.PROTOCOL_ERROR;
      }
      r2t.nextOffset += length;
      r2t.nextDataSn++;
      if (digestError) {
        recoveryRanges().add(new int[] {offset, length});
      } else if (!place(offset, pdu.data())) {
        return RejectPdu.PROTOCOL_ERROR;
      }
      if (pdu.finalBit()) {
        if (r2t.nextOffset != r2t.offset + r2t.length) return RejectPdu.PROTOCOL_ERROR;
        r2ts.remove(r2t);
      }
      if (pdu.finalBit() || digestError) sendR2ts();
    }
    completePending();
    return 0;
  }

  /** Made by the first range to request again: most tasks never lose data. */
  private Deque<int[]> recoveryRanges() {
    if (recoveryRanges == null) recoveryRanges = new ArrayDeque<>(1);
    return recoveryRanges;
  }

  private boolean hasRecoveryRanges() {
    return recoveryRanges != null && !recoveryRanges.isEmpty();
  }

  /** Stores a retained slice at {@code offset}; false if it overlaps data already placed. */
  private boolean place(int offset, ByteBuf data) {
    int length = data.readableBytes();
    if (length == 0) return true;
    if (firstSegment == null && (segments == null || segments.isEmpty())) {
      // The first segment (immediate data, usually all there is): nothing to overlap or join.
      firstSegment = data.retainedSlice();
      firstSegmentOffset = offset;
      receivedBytes += length;
      if (offset == contiguous) contiguous += length;
      return true;
    }
    TreeMap<Integer, ByteBuf> segments = segmentMap();
    Map.Entry<Integer, ByteBuf> below = segments.floorEntry(offset);
    if (below != null && below.getKey() + below.getValue().readableBytes() > offset) return false;
    Map.Entry<Integer, ByteBuf> above = segments.ceilingEntry(offset);
    if (above != null && above.getKey() < offset + length) return false;
    segments.put(offset, data.retainedSlice());
    receivedBytes += length;
    ByteBuf next;
    while ((next = segments.get(contiguous)) != null) contiguous += next.readableBytes();
    return true;
  }

  /** Every placed segment by offset: the first one joins the map once there is more than one. */
  private TreeMap<Integer, ByteBuf> segmentMap() {
    if (segments == null) segments = new TreeMap<>();
    if (firstSegment != null) {
      segments.put(firstSegmentOffset, firstSegment);
      firstSegment = null;
    }
    return segments;
  }

  /** A view of placed bytes {@code [offset, offset + length)}, which must be contiguous. */
  private ByteBuf slice(int offset, int length) {
    if (firstSegment != null) {
      int from = offset - firstSegmentOffset;
      if (from >= 0 && from + length <= firstSegment.readableBytes()) {
        return firstSegment.retainedSlice(firstSegment.readerIndex() + from, length);
      }
    }
    // Nothing placed: only an empty range is contiguous.
    if (segments == null && firstSegment == null) return Unpooled.EMPTY_BUFFER;
    TreeMap<Integer, ByteBuf> segments = segmentMap();
    Map.Entry<Integer, ByteBuf> first = segments.floorEntry(offset);
    if (first != null) {
      ByteBuf b = first.getValue();
      int from = offset - first.getKey();
      // The common case, all of it in one PDU's data (immediate data): no composite needed.
      if (from + length <= b.readableBytes()) return b.retainedSlice(b.readerIndex() + from, length);
    }
    CompositeByteBuf out = Unpooled.compositeBuffer(Math.max(2, segments.size()));
    int at = offset;
    int end = offset + length;
    Integer key = segments.floorKey(offset);
    for (Map.Entry<Integer, ByteBuf> e : segments.tailMap(key == null ? 0 : key, true).entrySet()) {
      if (at >= end) break;
      int start = e.getKey();
      ByteBuf b = e.getValue();
      int from = at - start;
      int n = Math.min(b.readableBytes() - from, end - at);
      out.addComponent(true, b.retainedSlice(b.readerIndex() + from, n));
      at += n;
    }
    return out;
  }

  /** Fails the pending pull: the data it waits for will not come (bad Data-Out, connection gone). */
  void failDataOut(String why, int ascq) {
    if (pending != null) {
      Promise<ByteBuf> p = pending;
      pending = null;
      p.tryFail(new DataOutFailedException(why, ascq));
    }
  }

  private void completePending() {
    if (pending != null && pendingOffset + pendingLength <= contiguous) {
      Promise<ByteBuf> p = pending;
      pending = null;
      p.complete(slice(pendingOffset, pendingLength));
    }
  }

  /**
   * A transfer that made no progress for a while lost its last Data-Out (ErrorRecoveryLevel &gt; 0):
   * what the open R2Ts and the unsolicited burst still owe is asked for again with recovery R2Ts
   * (RFC 7143 §7.8); data arriving later for the replaced R2Ts is dropped.
   *
   * @return true when recovery R2Ts were sent
   */
  boolean recoverStalledDataOut(long now, long stallNanos) {
    if (state != State.ACTIVE || pending == null || now - lastProgress < stallNanos) return false;
    if (r2ts.isEmpty() && unsolicitedDone && !hasRecoveryRanges()) return false;
    lastProgress = now;
    for (R2t r : r2ts) {
      if (r.nextOffset < r.offset + r.length) {
        recoveryRanges().add(new int[] {r.nextOffset, r.offset + r.length - r.nextOffset});
      }
    }
    r2ts.clear();
    if (!unsolicitedDone) {
      unsolicitedDone = true;
      if (unsolicitedNextOffset < unsolicitedLimit) {
        recoveryRanges().add(new int[] {unsolicitedNextOffset, unsolicitedLimit - unsolicitedNextOffset});
      }
      nextR2tOffset = Math.max(nextR2tOffset, unsolicitedLimit);
    }
    sendR2ts();
    return true;
  }

  /** Sends R2Ts — recovery ranges first, then new ones — up to MaxOutstandingR2T (RFC 7143 §13.17). */
  void sendR2ts() {
    SessionParameters p = session.params;
    while (r2ts.size() < p.maxOutstandingR2T()) {
      int offset;
      int length;
      if (hasRecoveryRanges()) {
        int[] range = recoveryRanges.peek();
        offset = range[0];
        length = Math.min(range[1], p.maxBurstLength());
        if (length == range[1]) {
          recoveryRanges.poll();
        } else {
          range[0] += length;
          range[1] -= length;
        }
      } else if (nextR2tOffset < wantedEnd) {
        offset = nextR2tOffset;
        length = Math.min(p.maxBurstLength(), wantedEnd - nextR2tOffset);
        nextR2tOffset += length;
      } else {
        return;
      }
      R2t r2t = new R2t(connection.nextTargetTransferTag(), r2tSn++, offset, length);
      r2ts.add(r2t);
      if (session.params.errorRecoveryLevel() > 0) r2tsSent.add(r2t);
      dataSnCount++;
      session.sendR2t(this, r2t);
    }
  }

  /**
   * The task moves to a new connection (TASK REASSIGN, RFC 7143 §6.2.2): R2Ts of the old connection
   * are void; every byte not yet received is asked for again.
   */
  void reassign(IscsiConnection to) {
    connection = to;
    state = State.ACTIVE;
    r2ts.clear();
    if (recoveryRanges != null) recoveryRanges.clear();
    unsolicitedDone = true;
    int end = Math.max(wantedEnd, nextR2tOffset);
    int at = 0;
    if (segments != null || firstSegment != null) {
      for (Map.Entry<Integer, ByteBuf> e : segmentMap().entrySet()) {
        if (e.getKey() > at) recoveryRanges().add(new int[] {at, e.getKey() - at});
        at = e.getKey() + e.getValue().readableBytes();
      }
    }
    if (at < end) recoveryRanges().add(new int[] {at, end - at});
    nextR2tOffset = end;
  }

  /** What a survivor needs of the task in this phase, for the StateStore (SessionReplicator). */
  SessionState.TaskRecord record(int phase) {
    byte[] c = new byte[cdb.readableBytes()];
    cdb.getBytes(cdb.readerIndex(), c);
    ScsiResult r = result;
    byte[] sense = null;
    if (r != null && r.sense() != null && r.sense().isReadable()) {
      sense = new byte[r.sense().readableBytes()];
      r.sense().getBytes(r.sense().readerIndex(), sense);
    }
    return new SessionState.TaskRecord(itt, cmdSn, command.lun(), c, command.taskAttribute(), (int) expectedLength,
        command.read(), command.write(), contiguous, phase, r == null ? 0 : r.status(), sense,
        r == null ? 0 : r.residual());
  }

  // ---- Data-In (RFC 7143 §11.7) ----

  /**
   * Cuts {@code length} bytes of Data-In into PDUs of at most {@code maxSegment} bytes (the
   * initiator's MaxRecvDataSegmentLength), each sequence ending at a {@code burst} boundary
   * (MaxBurstLength). With {@code ackRequests} (ErrorRecoveryLevel &gt; 0) the last PDU of each
   * sequence but the final one asks for DataACK (RFC 7143 §11.7.2).
   */
  void planDataIn(int length, int maxSegment, int burst, boolean ackRequests) {
    dataInBytes = length;
    dataInBurst = burst;
    dataInSegment = Math.min(maxSegment, burst);
    dataInPerBurst = (burst + dataInSegment - 1) / dataInSegment;
    dataInAckRequests = ackRequests;
    int tail = length % burst;
    dataInPduCount = length / burst * dataInPerBurst + (tail + dataInSegment - 1) / dataInSegment;
  }

  /** Buffer offset of Data-In PDU {@code sn}. */
  int dataInOffset(int sn) {
    return (int) ((long) (sn / dataInPerBurst) * dataInBurst + (long) (sn % dataInPerBurst) * dataInSegment);
  }

  /** Length of Data-In PDU {@code sn}. */
  int dataInLength(int sn) {
    return (int) Math.min(dataInSegment, sequenceEnd(sn) - dataInOffset(sn));
  }

  /** Flags of Data-In PDU {@code sn}: F ends each sequence and the last PDU (RFC 7143 §11.7.1), A as planned. */
  int dataInFlags(int sn) {
    long end = dataInOffset(sn) + (long) dataInLength(sn);
    if (end != sequenceEnd(sn)) return 0;
    return end == dataInBytes || !dataInAckRequests ? 0x80 : 0x80 | DataInPdu.FLAG_ACK;
  }

  private long sequenceEnd(int sn) {
    return Math.min((long) (sn / dataInPerBurst + 1) * dataInBurst, dataInBytes);
  }

  // ---- completion ----

  /** The engine's result: sent now, or once the unsolicited data still in flight has arrived. */
  void complete(ScsiResult r) {
    if (finished) {
      r.release();
      return;
    }
    if (!unsolicitedDone && !r.aborted()) {
      // RFC 7143 §4.2.5.2: the initiator still sends the first burst; answer after it, so no
      // Data-Out arrives for a task that has ended.
      deferred = r;
      return;
    }
    session.sendResult(this, r);
  }

  /** Releases everything the task holds; idempotent. */
  void finish() {
    if (finished) return;
    finished = true;
    failDataOut("task ended", DataOutFailedException.DATA_PHASE_ERROR);
    if (deferred != null) {
      deferred.release();
      deferred = null;
    }
    if (result != null) {
      result.release();
      result = null;
    }
    if (dataIn != null) {
      dataIn.release();
      dataIn = null;
    }
    if (firstSegment != null) {
      firstSegment.release();
      firstSegment = null;
    }
    if (segments != null) {
      segments.values().forEach(ByteBuf::release);
      segments.clear();
    }
    command.release();
    if (ownsCdb) cdb.release();
  }

  boolean finished() {
    return finished;
  }

  @Override
  public String toString() {
    return "task{itt=0x" + Integer.toHexString(itt) + ", cmdSn=" + (cmdSn & 0xffffffffL) + ", op=0x"
        + Integer.toHexString(cdb.getUnsignedByte(cdb.readerIndex())) + ", " + state + "}";
  }
}
