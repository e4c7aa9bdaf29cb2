package io.spindle.initiator.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.spindle.initiator.NegotiatedParameters;
import io.spindle.initiator.ScsiResponse;
import io.spindle.iscsi.pdu.DataInPdu;
import io.spindle.iscsi.pdu.DataOutPdu;
import io.spindle.iscsi.pdu.Pdu;
import io.spindle.iscsi.pdu.R2tPdu;
import io.spindle.iscsi.pdu.ScsiCommandPdu;
import io.spindle.iscsi.pdu.ScsiResponsePdu;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ScsiTaskTest {

  private static final UnpooledByteBufAllocator ALLOC = new UnpooledByteBufAllocator(false, true);

  private static NegotiatedParameters params(boolean immediateData, boolean initialR2t, int firstBurst,
      int targetMrdsl) {
    return new NegotiatedParameters(false, false, 65536, targetMrdsl, immediateData, initialR2t, firstBurst,
        262_144, 1, 0, List.of());
  }

  private static byte[] bytes(int n, int seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static void releaseAll(List<Pdu> pdus) {
    for (Pdu p : pdus) p.release();
  }

  @Test
  void immediateAndUnsolicitedDataThenR2t() {
    byte[] payload = bytes(20_000, 1);
    ScsiTask task = new ScsiTask(7, 0, new byte[16], Unpooled.wrappedBuffer(payload), 0, ALLOC);
    NegotiatedParameters p = params(true, false, 16_384, 4096);
    List<Pdu> out = task.start(5, 9, p);
    try {
      ScsiCommandPdu cmd = (ScsiCommandPdu) out.get(0);
      assertTrue(cmd.write());
      assertFalse(cmd.finalBit(), "unsolicited Data-Out follows");
      assertEquals(20_000, cmd.expectedDataTransferLength());
      assertEquals(5, cmd.cmdSn());
      assertEquals(4096, cmd.data().readableBytes(), "immediate data limited by the target's MRDSL");
      assertEquals(4, out.size(), "three Data-Out PDUs up to FirstBurstLength");
      int expectedOffset = 4096;
      for (int i = 1; i < out.size(); i++) {
        DataOutPdu d = (DataOutPdu) out.get(i);
        assertEquals(0xffffffff, d.ttt());
        assertEquals(i - 1, d.dataSn());
        assertEquals(expectedOffset, d.bufferOffset());
        assertEquals(i == out.size() - 1, d.finalBit());
        assertTrue(ByteBufUtil.equals(Unpooled.wrappedBuffer(payload, expectedOffset, 4096), d.data()));
        expectedOffset += d.data().readableBytes();
      }
      assertEquals(16_384, expectedOffset);
    } finally {
      releaseAll(out);
    }
    R2tPdu r2t = new R2tPdu();
    r2t.itt(7);
    r2t.ttt(0x1234);
    r2t.bufferOffset(16_384).desiredDataTransferLength(3616);
    List<Pdu> solicited = task.onR2t(r2t, 10, p);
    try {
      assertEquals(1, solicited.size());
      DataOutPdu d = (DataOutPdu) solicited.get(0);
      assertEquals(0x1234, d.ttt());
      assertEquals(0, d.dataSn());
      assertTrue(d.finalBit());
      assertEquals(10, d.expStatSn());
      assertTrue(ByteBufUtil.equals(Unpooled.wrappedBuffer(payload, 16_384, 3616), d.data()));
    } finally {
      releaseAll(solicited);
      r2t.release();
      task.release();
    }
  }

  @Test
  void r2tDataOutIsSplitAtTheTargetsSegmentLength() {
    ScsiTask task = new ScsiTask(1, 0, new byte[16], Unpooled.wrappedBuffer(bytes(10_000, 2)), 0, ALLOC);
    NegotiatedParameters p = params(false, true, 65_536, 4096);
    List<Pdu> start = task.start(1, 1, p);
    assertEquals(1, start.size());
    assertTrue(start.get(0).finalBit());
    assertEquals(0, start.get(0).dataSegmentLength(), "no immediate data when ImmediateData=No");
    releaseAll(start);
    R2tPdu r2t = new R2tPdu();
    r2t.ttt(9);
    r2t.bufferOffset(0).desiredDataTransferLength(10_000);
    List<Pdu> out = task.onR2t(r2t, 1, p);
    assertEquals(List.of(4096, 4096, 1808), out.stream().map(Pdu::dataSegmentLength).toList());
    releaseAll(out);
    r2t.release();
    task.release();
  }

  @Test
  void r2tOutsideTheTransferIsAViolation() {
    ScsiTask task = new ScsiTask(1, 0, new byte[16], Unpooled.wrappedBuffer(new byte[1024]), 0, ALLOC);
    R2tPdu r2t = new R2tPdu();
    r2t.bufferOffset(512).desiredDataTransferLength(1024);
    assertThrows(ScsiTask.ProtocolViolation.class, () -> task.onR2t(r2t, 1, params(true, true, 512, 8192)));
    r2t.release();
    task.release();
  }

  private static DataInPdu dataIn(int dataSn, int offset, byte[] all, int length) {
    DataInPdu d = new DataInPdu();
    d.dataSn(dataSn).bufferOffset(offset);
    d.data(Unpooled.copiedBuffer(all, offset, length));
    return d;
  }

  @Test
  void dataInIsPlacedByOffsetAndStatusIsPhaseCollapsed() {
    byte[] all = bytes(3000, 3);
    ScsiTask task = new ScsiTask(2, 0, new byte[16], null, 4096, ALLOC);
    DataInPdu second = dataIn(0, 1000, all, 2000);
    DataInPdu first = dataIn(1, 0, all, 1000);
    first.status(ScsiResponse.GOOD, false, true, 1096);
    assertNull(task.onDataIn(second));
    try (ScsiResponse r = task.onDataIn(first)) {
      assertTrue(r.isGood());
      assertTrue(r.underflow());
      assertEquals(1096, r.residualCount());
      assertArrayEquals(all, ByteBufUtil.getBytes(r.data()));
    } finally {
      first.release();
      second.release();
    }
  }

  @Test
  void dataInGapOrOverrunIsAViolation() {
    byte[] all = bytes(2048, 4);
    ScsiTask task = new ScsiTask(3, 0, new byte[16], null, 1024, ALLOC);
    DataInPdu skipped = dataIn(1, 0, all, 512);
    assertThrows(ScsiTask.ProtocolViolation.class, () -> task.onDataIn(skipped));
    skipped.release();
    task.release();
    ScsiTask task2 = new ScsiTask(4, 0, new byte[16], null, 1024, ALLOC);
    DataInPdu overrun = dataIn(0, 512, all, 1024);
    assertThrows(ScsiTask.ProtocolViolation.class, () -> task2.onDataIn(overrun));
    overrun.release();
    task2.release();
  }

  @Test
  void scsiResponseCarriesSenseAndKeepsDataIn() {
    byte[] all = bytes(512, 5);
    ScsiTask task = new ScsiTask(5, 0, new byte[16], null, 512, ALLOC);
    DataInPdu d = dataIn(0, 0, all, 512);
    assertNull(task.onDataIn(d));
    d.release();
    ScsiResponsePdu resp = new ScsiResponsePdu();
    resp.status(ScsiResponse.CHECK_CONDITION);
    byte[] sense = new byte[18];
    sense[0] = 0x70;
    sense[2] = 0x05;
    sense[12] = 0x24;
    ByteBuf seg = Unpooled.buffer().writeShort(sense.length).writeBytes(sense);
    resp.data(seg);
    try (ScsiResponse r = task.onResponse(resp)) {
      assertEquals(ScsiResponse.CHECK_CONDITION, r.status());
      assertEquals(5, r.senseKey());
      assertEquals(0x24, r.asc());
      assertEquals(512, r.data().readableBytes());
    } finally {
      resp.release();
    }
  }

  @Test
  void senseLengthBeyondTheSegmentIsAViolation() {
    ScsiTask task = new ScsiTask(6, 0, new byte[6], null, 0, ALLOC);
    ScsiResponsePdu resp = new ScsiResponsePdu();
    resp.data(Unpooled.buffer().writeShort(100).writeZero(10));
    assertInstanceOf(ScsiTask.ProtocolViolation.class,
        assertThrows(RuntimeException.class, () -> task.onResponse(resp)));
    resp.release();
    task.release();
  }
}
