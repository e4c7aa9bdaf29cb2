package io.spindle.initiator.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.spindle.initiator.NegotiatedParameters;
import io.spindle.initiator.ScsiResponse;
import io.spindle.iscsi.pdu.DataInPdu;
import io.spindle.iscsi.pdu.DataOutPdu;
import io.spindle.iscsi.pdu.Pdu;
import io.spindle.iscsi.pdu.R2tPdu;
import io.spindle.iscsi.pdu.ScsiCommandPdu;
import io.spindle.iscsi.pdu.ScsiResponsePdu;
import io.spindle.iscsi.pdu.SnackRequestPdu;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * One SCSI command on the initiator side (RFC 7143 §11.3-§11.8), free of sockets so it can be
 * tested alone: builds the command with its immediate data and the unsolicited Data-Out,
 * answers R2Ts with Data-Out split to the target's MaxRecvDataSegmentLength, reassembles
 * Data-In by buffer offset, and builds the {@link ScsiResponse} from a SCSI Response or from
 * a Data-In carrying status (phase collapse).
 *
 * <p>At ErrorRecoveryLevel 0 a missing Data-In is a protocol violation. From ERL 1 on (RFC 7143
 * §7.3-§7.4) the task keeps a map of the DataSNs it holds, asks for the missing ones with a
 * Data/R2T SNACK (one per gap, once; again when the status reveals they are still missing),
 * holds the status back until every Data-In it counts has arrived, acknowledges Data-In that
 * carry the A bit with a DataACK SNACK, and asks for missing R2Ts by R2TSN.
 *
 * <p>A violation by the target throws {@link ProtocolViolation}; the session closes the connection.
 */
final class ScsiTask {

  /** RFC 7143 §11.7.4: the reserved Target Transfer Tag of unsolicited Data-Out. */
  static final int NO_TTT = 0xffffffff;

  static final class ProtocolViolation extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ProtocolViolation(String message) {
      super(message);
    }
  }

  final int itt;
  final long lun;
  private final byte[] cdb;
  private ByteBuf dataOut;
  private final int expectedDataIn;
  private final ByteBufAllocator alloc;
  private ByteBuf dataIn;
  /** iSER: the buffer the target places Data-In into (see {@link #placementBuffer()}). */
  private ByteBuf placement;
  private int dataInHigh;
  private int erl;
  /** DataSNs received (ERL >= 1). */
  private final BitSet seen = new BitSet();
  /** The first DataSN not received: all below it are here. */
  private int expDataSn;
  /** Every DataSN below this was received or asked for. */
  private int snackedTo;
  /** The DataACK point sent to the target (RFC 7143 §11.16: BegRun of the last DataACK). */
  private int dataAckedTo;
  private int expR2tSn;
  /** After a TASK REASSIGN the target's R2TSN may continue anywhere; the next R2T sets the baseline. */
  private boolean r2tSnUnknown;
  /** Status received but held back until the Data-In it counts are all here. */
  private Status pendingStatus;
  /** R-Data SNACK tags (RFC 7143 §11.16.1: unique per task, never 0 or 0xffffffff). */
  private int snackTag;
  int cmdSn;
  /** Bytes of Data-Out sent with the command (immediate and unsolicited), known after {@link #start}. */
  private int unsolicitedEnd;
  /** How many times the command was sent as a new task (session recovery, reissue after a CRC error). */
  int attempts;

  /** Status fields kept until the data is complete. */
  private record Status(int response, int status, byte[] sense, boolean overflow, boolean underflow, int residual,
      int dataInCount) {
  }

  ScsiTask(int itt, long lun, byte[] cdb, ByteBuf dataOut, int expectedDataIn, ByteBufAllocator alloc) {
    if (dataOut != null && dataOut.isReadable() && expectedDataIn > 0) {
      throw new IllegalArgumentException("bidirectional commands are not supported");
    }
    if (cdb.length > 16) throw new IllegalArgumentException("CDBs longer than 16 bytes are not supported");
    this.itt = itt;
    this.lun = lun;
    this.cdb = cdb.clone();
    this.dataOut = dataOut != null && dataOut.isReadable() ? dataOut : null;
    if (dataOut != null && this.dataOut == null) dataOut.release();
    this.expectedDataIn = expectedDataIn;
    this.alloc = alloc;
  }

  /** The whole Data-Out buffer, or null (iSER registers it for the target's RDMA Reads). */
  ByteBuf dataOutBuffer() {
    return dataOut;
  }

  /** Data-Out bytes that travel with the command, after {@link #start}. */
  int unsolicitedLength() {
    return unsolicitedEnd;
  }

  int expectedDataIn() {
    return expectedDataIn;
  }

  /**
   * iSER: the buffer the target places this read's Data-In into by RDMA Write, registered on
   * whichever connection the task has allegiance to. The task owns it, not the connection, so the
   * Data-In the target placed and saw acknowledged before a connection failed stays after TASK
   * REASSIGN, when the target sends only the Data-In from the acknowledged point on (RFC 7143
   * §11.5.6, RFC 7145 §7.3.6). Null for a task without Data-In.
   */
  ByteBuf placementBuffer() {
    if (placement == null && expectedDataIn > 0) {
      placement = io.netty.buffer.PooledByteBufAllocator.DEFAULT.directBuffer(expectedDataIn, expectedDataIn)
          .writeZero(expectedDataIn);
    }
    return placement;
  }

  private int dataOutLength() {
    return dataOut == null ? 0 : dataOut.readableBytes();
  }

  /**
   * The SCSI Command PDU followed by any unsolicited Data-Out PDUs (RFC 7143 §11.3, §13.3-§13.5):
   * immediate data up to min(FirstBurstLength, target MaxRecvDataSegmentLength); with
   * InitialR2T=No, Data-Out with the reserved TTT up to FirstBurstLength in total.
   */
  List<Pdu> start(int cmdSn, int expStatSn, NegotiatedParameters p) {
    this.cmdSn = cmdSn;
    this.erl = p.errorRecoveryLevel();
    List<Pdu> out = new ArrayList<>();
    int length = dataOutLength();
    ScsiCommandPdu cmd = new ScsiCommandPdu();
    cmd.read(expectedDataIn > 0).write(length > 0).taskAttribute(1);
    cmd.lun(lun).itt(itt);
    cmd.expectedDataTransferLength(length > 0 ? length : expectedDataIn);
    cmd.cmdSn(cmdSn).expStatSn(expStatSn);
    cmd.cdb(cdb);
    int immediate = 0;
    int unsolicitedEnd = 0;
    if (length > 0) {
      if (p.immediateData()) {
        immediate = Math.min(length, Math.min(p.firstBurstLength(), p.targetMaxRecvDataSegmentLength()));
        cmd.data(dataOut.retainedSlice(dataOut.readerIndex(), immediate));
      }
      unsolicitedEnd = p.initialR2t() ? immediate : Math.min(length, p.firstBurstLength());
    }
    this.unsolicitedEnd = unsolicitedEnd;
    // RFC 7143 §11.3.1: F=1 unless unsolicited Data-Out PDUs follow.
    cmd.finalBit(unsolicitedEnd <= immediate);
    out.add(cmd);
    if (unsolicitedEnd > immediate) {
      dataOutSequence(NO_TTT, immediate, unsolicitedEnd - immediate, expStatSn, p, out);
    }
    return out;
  }

  /** RFC 7143 §11.8: Data-Out answering one R2T, DataSN from 0, split at the target's MaxRecvDataSegmentLength. */
  List<Pdu> onR2t(R2tPdu r2t, int expStatSn, NegotiatedParameters p) {
    List<Pdu> out = new ArrayList<>();
    onR2t(r2t, expStatSn, p, out);
    return out;
  }

  /**
   * As {@link #onR2t(R2tPdu, int, NegotiatedParameters)}; from ERL 1 on first asks for R2Ts
   * missing before this one (RFC 7143 §7.3.2: a gap in R2TSN). A recovery R2T (one whose R2TSN
   * was already seen, or any after a reassignment) is answered like any other.
   */
  void onR2t(R2tPdu r2t, int expStatSn, NegotiatedParameters p, List<Pdu> out) {
    if (erl >= 1) {
      int sn = r2t.r2tSn();
      if (r2tSnUnknown) {
        r2tSnUnknown = false;
        expR2tSn = sn + 1;
      } else if (Sn.gt(sn, expR2tSn)) {
        out.add(snack(SnackRequestPdu.DATA_R2T, itt, NO_TTT, expR2tSn, sn - expR2tSn));
        expR2tSn = sn + 1;
      } else if (sn == expR2tSn) {
        expR2tSn++;
      }
    }
    int offset = r2t.bufferOffset();
    int desired = r2t.desiredDataTransferLength();
    if (dataOut == null) throw new ProtocolViolation("R2T for a command without Data-Out (ITT 0x"
        + Integer.toHexString(itt) + ")");
    if (offset < 0 || desired <= 0 || (long) offset + desired > dataOutLength()) {
      throw new ProtocolViolation("R2T asks for " + desired + " bytes at offset " + offset + " of a "
          + dataOutLength() + "-byte transfer");
    }
    // RFC 7143 §13.14: one R2T asks for at most MaxBurstLength.
    if (desired > p.maxBurstLength()) {
      throw new ProtocolViolation("R2T desired length " + desired + " exceeds MaxBurstLength " + p.maxBurstLength());
    }
    dataOutSequence(r2t.ttt(), offset, desired, expStatSn, p, out);
  }

  private void dataOutSequence(int ttt, int offset, int length, int expStatSn, NegotiatedParameters p,
      List<Pdu> out) {
    int max = p.targetMaxRecvDataSegmentLength();
    int dataSn = 0;
    for (int done = 0; done < length; ) {
      int n = Math.min(max, length - done);
      DataOutPdu d = new DataOutPdu();
      d.lun(lun).itt(itt);
      d.ttt(ttt).expStatSn(expStatSn);
      d.dataSn(dataSn++).bufferOffset(offset + done);
      d.data(dataOut.retainedSlice(dataOut.readerIndex() + offset + done, n));
      done += n;
      d.finalBit(done == length);
      out.add(d);
    }
  }

  /** Places Data-In at its buffer offset; returns the response when the PDU carries status, else null. */
  ScsiResponse onDataIn(DataInPdu d) {
    List<Pdu> out = new ArrayList<>();
    ScsiResponse r = onDataIn(d, out);
    for (Pdu pdu : out) pdu.release();
    return r;
  }

  /**
   * Places Data-In at its buffer offset; returns the response once the status is in and no
   * Data-In is missing, else null. SNACKs to send go to {@code out}.
   */
  ScsiResponse onDataIn(DataInPdu d, List<Pdu> out) {
    int sn = d.dataSn();
    int n = d.data().readableBytes();
    if (erl == 0) {
      if (sn != expDataSn) {
        // RFC 7143 §7.1: at ERL 0 a missing Data-In is unrecoverable.
        throw new ProtocolViolation("Data-In DataSN " + sn + ", expected " + expDataSn);
      }
      expDataSn++;
      place(d, n);
    } else if (sn < 0 || sn > MAX_DATA_IN) {
      throw new ProtocolViolation("Data-In DataSN " + sn + " out of range");
    } else if (!seen.get(sn)) {
      place(d, n);
      seen.set(sn);
      if (sn >= snackedTo) {
        // RFC 7143 §7.3.1: a DataSN beyond the next expected one reveals lost Data-In; ask for them.
        snackGaps(snackedTo, sn, out);
        snackedTo = sn + 1;
      }
      expDataSn = seen.nextClearBit(expDataSn);
    }
    if (erl >= 1 && d.ackRequested()) {
      // RFC 7143 §11.16: DataACK (ITT reserved, TTT and LUN from the Data-In) acknowledges all below BegRun.
      SnackRequestPdu ack = snack(SnackRequestPdu.DATA_ACK, NO_TTT, d.ttt(), expDataSn, 0);
      ack.lun(d.lun());
      out.add(ack);
      dataAckedTo = expDataSn;
    }
    if (d.hasStatus() && pendingStatus == null) {
      // RFC 7143 §11.7.4: with S=1 the Data-In carries the status and residuals; no SCSI Response follows.
      pendingStatus = new Status(0, d.scsiStatus(), null, d.overflow(), d.underflow(), d.residualCount(), sn + 1);
      return complete(out, true);
    }
    return complete(out, false);
  }

  /**
   * A Data-In of this task arrived with a data digest error and was discarded (RFC 7143 §7.8):
   * ask for it, and for any unasked DataSN before it. Returns null (nothing completes).
   */
  void onDataInLost(int dataSn, List<Pdu> out) {
    if (erl == 0) throw new ProtocolViolation("Data-In DataSN " + dataSn + " failed its data digest");
    if (dataSn < 0 || dataSn > MAX_DATA_IN || seen.get(dataSn)) return;
    if (dataSn >= snackedTo) {
      snackGaps(snackedTo, dataSn + 1, out);
      snackedTo = dataSn + 1;
    } else {
      out.add(snack(SnackRequestPdu.DATA_R2T, itt, NO_TTT, dataSn, 1));
    }
  }

  private static final int MAX_DATA_IN = 1 << 20;
  /** More separate gaps than this when the status arrives: ask for all unacknowledged data at once (R-Data). */
  private static final int MAX_SNACK_RUNS = 4;

  private void place(DataInPdu d, int n) {
    int offset = d.bufferOffset();
    if (offset < 0 || (long) offset + n > expectedDataIn) {
      throw new ProtocolViolation("Data-In of " + n + " bytes at offset " + offset + " overruns the expected "
          + expectedDataIn + " bytes");
    }
    if (n > 0) {
      if (dataIn == null) {
        dataIn = alloc.buffer(expectedDataIn, expectedDataIn);
        dataIn.setZero(0, expectedDataIn); // a gap the target never filled reads as zeros, not old memory
      }
      dataIn.setBytes(offset, d.data(), d.data().readerIndex(), n);
      dataInHigh = Math.max(dataInHigh, offset + n);
    }
  }

  /** Data/R2T SNACKs for each run of unreceived DataSNs in [from, to). */
  private void snackGaps(int from, int to, List<Pdu> out) {
    int i = seen.nextClearBit(from);
    while (i < to) {
      int end = Math.min(to, seen.nextSetBit(i) < 0 ? to : seen.nextSetBit(i));
      out.add(snack(SnackRequestPdu.DATA_R2T, itt, NO_TTT, i, end - i));
      i = seen.nextClearBit(end);
    }
  }

  /**
   * The response once the held status and all its Data-In are here. When the status has just
   * arrived and Data-In is still missing, asks for the tail it revealed with a Data/R2T SNACK,
   * or, when the data is riddled with gaps, for all unacknowledged data with one R-Data SNACK
   * (RFC 7143 §7.3.1, §11.16.1).
   */
  private ScsiResponse complete(List<Pdu> out, boolean statusJustArrived) {
    Status st = pendingStatus;
    if (st == null) return null;
    if (erl == 0 || expDataSn >= st.dataInCount) {
      pendingStatus = null;
      return new ScsiResponse(st.response, st.status, st.sense, takeDataIn(), st.overflow, st.underflow, st.residual);
    }
    if (statusJustArrived) {
      int runs = 0;
      for (int i = seen.nextClearBit(expDataSn); i < st.dataInCount; i = seen.nextClearBit(seen.nextSetBit(i) < 0
          ? st.dataInCount : seen.nextSetBit(i))) {
        runs++;
      }
      if (runs > MAX_SNACK_RUNS) {
        out.add(rDataSnack());
      } else if (snackedTo < st.dataInCount) {
        // Only the tail the status revealed: the earlier gaps were asked for when they showed.
        snackGaps(snackedTo, st.dataInCount, out);
        snackedTo = st.dataInCount;
      }
    }
    return null;
  }

  /**
   * R-Data SNACK (RFC 7143 §11.16.1): the target resends all Data-In after the DataACK point and
   * then the status carrying our SNACK Tag, so what was received after that point is forgotten
   * (its bytes are rewritten in place) and the held status is dropped.
   */
  private SnackRequestPdu rDataSnack() {
    if (++snackTag == 0 || snackTag == NO_TTT) snackTag = 1;
    seen.clear(dataAckedTo, Math.max(dataAckedTo, seen.length()));
    expDataSn = dataAckedTo;
    snackedTo = dataAckedTo;
    pendingStatus = null;
    return snack(SnackRequestPdu.R_DATA, itt, snackTag, 0, 0);
  }

  private SnackRequestPdu snack(int type, int itt, int ttt, int begRun, int runLength) {
    SnackRequestPdu s = new SnackRequestPdu();
    s.type(type);
    s.lun(lun).itt(itt);
    s.ttt(ttt);
    s.run(begRun, runLength);
    return s;
  }

  /** The first DataSN not yet received: TASK REASSIGN's ExpDataSN (RFC 7143 §11.5.6). */
  int expDataSn() {
    return expDataSn;
  }

  boolean isRead() {
    return expectedDataIn > 0;
  }

  /** The task now has allegiance to another connection (RFC 7143 §7.2.2); the target resumes from ExpDataSN. */
  void reassigned() {
    r2tSnUnknown = true;
    snackedTo = expDataSn;
  }

  /** Forgets all progress, for sending the command again as a new task; the Data-Out stays. */
  void reset() {
    if (dataIn != null) {
      dataIn.release();
      dataIn = null;
    }
    dataInHigh = 0;
    seen.clear();
    expDataSn = 0;
    snackedTo = 0;
    dataAckedTo = 0;
    expR2tSn = 0;
    r2tSnUnknown = false;
    pendingStatus = null;
  }

  /** RFC 7143 §11.4: status, sense (SenseLength-prefixed in the data segment) and residuals. */
  ScsiResponse onResponse(ScsiResponsePdu r) {
    List<Pdu> out = new ArrayList<>();
    ScsiResponse resp = onResponse(r, out);
    for (Pdu pdu : out) pdu.release();
    return resp;
  }

  /**
   * As {@link #onResponse(ScsiResponsePdu)}; from ERL 1 on, a read whose ExpDataSN (the number
   * of Data-In the target sent, RFC 7143 §11.4.8) exceeds what arrived is held back and the
   * missing Data-In asked for.
   */
  ScsiResponse onResponse(ScsiResponsePdu r, List<Pdu> out) {
    byte[] sense = null;
    ByteBuf seg = r.data();
    if (seg.readableBytes() >= 2) {
      int senseLength = seg.getUnsignedShort(seg.readerIndex());
      if (senseLength > seg.readableBytes() - 2) {
        throw new ProtocolViolation("SenseLength " + senseLength + " exceeds the " + (seg.readableBytes() - 2)
            + " bytes sent");
      }
      sense = new byte[senseLength];
      seg.getBytes(seg.readerIndex() + 2, sense);
    }
    int count = erl >= 1 && expectedDataIn > 0 ? r.expDataSn() : 0;
    if (count < 0 || count > MAX_DATA_IN) count = 0;
    pendingStatus = new Status(r.response(), r.status(), sense, r.overflow(), r.underflow(), r.residualCount(),
        count);
    return complete(out, true);
  }

  private ByteBuf takeDataIn() {
    ByteBuf b = dataIn;
    dataIn = null;
    if (b == null) return Unpooled.EMPTY_BUFFER;
    return b.writerIndex(dataInHigh);
  }

  /** Releases what the task still owns (on completion, failure or timeout). */
  void release() {
    if (dataOut != null) {
      dataOut.release();
      dataOut = null;
    }
    if (placement != null) {
      placement.release();
      placement = null;
    }
    if (dataIn != null) {
      dataIn.release();
      dataIn = null;
    }
  }
}
