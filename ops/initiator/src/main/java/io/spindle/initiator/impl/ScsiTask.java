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
import java.util.ArrayList;
import java.util.List;

/**
 * One SCSI command on the initiator side (RFC 7143 §11.3-§11.8), free of sockets so it can be
 * tested alone: builds the command with its immediate data and the unsolicited Data-Out,
 * answers R2Ts with Data-Out split to the target's MaxRecvDataSegmentLength, reassembles
 * Data-In by buffer offset, and builds the {@link ScsiResponse} from a SCSI Response or from
 * a Data-In carrying status (phase collapse).
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
  private int dataInHigh;
  private int expDataSn;
  int cmdSn;

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
    List<Pdu> out = new ArrayList<>();
    dataOutSequence(r2t.ttt(), offset, desired, expStatSn, p, out);
    return out;
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
    int offset = d.bufferOffset();
    int n = d.data().readableBytes();
    if (d.dataSn() != expDataSn) {
      // RFC 7143 §7.1: at ERL 0 a missing Data-In is unrecoverable.
      throw new ProtocolViolation("Data-In DataSN " + d.dataSn() + ", expected " + expDataSn);
    }
    expDataSn++;
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
    if (!d.hasStatus()) return null;
    // RFC 7143 §11.7.4: with S=1 the Data-In carries the status and residuals; no SCSI Response follows.
    return new ScsiResponse(0, d.scsiStatus(), null, takeDataIn(), d.overflow(), d.underflow(), d.residualCount());
  }

  /** RFC 7143 §11.4: status, sense (SenseLength-prefixed in the data segment) and residuals. */
  ScsiResponse onResponse(ScsiResponsePdu r) {
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
    return new ScsiResponse(r.response(), r.status(), sense, takeDataIn(), r.overflow(), r.underflow(),
        r.residualCount());
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
    if (dataIn != null) {
      dataIn.release();
      dataIn = null;
    }
  }
}
