package io.spindle.iscsi.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.spindle.iscsi.pdu.LoginRequestPdu;
import io.spindle.iscsi.pdu.NopOutPdu;
import io.spindle.iscsi.pdu.Opcode;
import io.spindle.iscsi.pdu.Pdu;
import io.spindle.iscsi.pdu.Pdus;
import io.spindle.iscsi.pdu.ScsiCommandPdu;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** PduDecoder and PduEncoder on EmbeddedChannels, as Netty's own codec tests do. */
class PduCodecTest {

  /** Every buffer a test creates as decoder input; all must be fully released at the end. */
  private final List<ByteBuf> inputs = new ArrayList<>();

  @AfterEach
  void nothingLeaks() {
    for (ByteBuf b : inputs) assertEquals(0, b.refCnt(), "input buffer still referenced");
  }

  // ---- helpers ----

  private static CodecLimits limits(boolean header, boolean data) {
    return new CodecLimits().digests(header, data);
  }

  /** A PDU of {@code op} whose BHS is random apart from the opcode and lengths: reserved bits set at random. */
  private static Pdu randomPdu(Random rnd, Opcode op, int ahsLength, int dataLength) {
    ByteBuf bhs = Unpooled.buffer(Pdu.BHS_LENGTH, Pdu.BHS_LENGTH);
    byte[] b = new byte[Pdu.BHS_LENGTH];
    rnd.nextBytes(b);
    bhs.writeBytes(b);
    bhs.setByte(0, (b[0] & 0xc0) | op.code); // both bits above the opcode: I bit and the reserved bit
    bhs.setByte(4, 0);
    bhs.setMedium(5, 0);
    Pdu pdu = Pdus.wrap(bhs, null, null);
    if (ahsLength > 0) pdu.ahs(randomBuf(rnd, ahsLength));
    if (dataLength > 0) pdu.data(randomBuf(rnd, dataLength));
    return pdu;
  }

  private static ByteBuf randomBuf(Random rnd, int n) {
    byte[] b = new byte[n];
    rnd.nextBytes(b);
    return Unpooled.wrappedBuffer(b);
  }

  /** Encodes on an EmbeddedChannel and returns the wire bytes (one buffer, owned by the caller). */
  private static byte[] encode(CodecLimits limits, Pdu pdu) {
    EmbeddedChannel ch = new EmbeddedChannel(new PduEncoder(limits));
    assertTrue(ch.writeOutbound(pdu));
    ByteBuf all = Unpooled.buffer();
    for (Object o; (o = ch.readOutbound()) != null; ) {
      ByteBuf part = (ByteBuf) o;
      all.writeBytes(part);
      part.release();
    }
    assertFalse(ch.finishAndReleaseAll());
    assertEquals(0, pdu.refCnt(), "the encoder releases the PDU it wrote");
    byte[] bytes = ByteBufUtil.getBytes(all);
    all.release();
    return bytes;
  }

  private ByteBuf input(byte[] bytes, int from, int to) {
    ByteBuf b = Unpooled.directBuffer(Math.max(1, to - from)).writeBytes(bytes, from, to - from);
    inputs.add(b);
    return b;
  }

  /** Feeds the bytes in pieces cut at {@code cuts} and returns everything decoded. */
  private List<Object> decode(CodecLimits limits, byte[] bytes, int... cuts) {
    EmbeddedChannel ch = new EmbeddedChannel(new PduDecoder(limits));
    int from = 0;
    for (int cut : cuts) {
      ch.writeInbound(input(bytes, from, cut));
      from = cut;
    }
    ch.writeInbound(input(bytes, from, bytes.length));
    List<Object> out = new ArrayList<>();
    for (Object o; (o = ch.readInbound()) != null; ) out.add(o);
    ch.finishAndReleaseAll();
    return out;
  }

  private static void releaseAll(List<Object> objects) {
    for (Object o : objects) {
      if (o instanceof Pdu p) assertTrue(p.release());
    }
  }

  private static byte[] bytes(ByteBuf b) {
    return ByteBufUtil.getBytes(b, b.readerIndex(), b.readableBytes());
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = new byte[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  // ---- CRC32C ----

  @Test
  void crc32cMatchesTheRfc3720TestVectors() {
    // RFC 3720 Appendix B.4: CRC32C of 32-byte patterns, as the bytes go on the wire.
    byte[] zeros = new byte[32];
    byte[] ones = new byte[32];
    byte[] up = new byte[32];
    byte[] down = new byte[32];
    for (int i = 0; i < 32; i++) {
      ones[i] = (byte) 0xff;
      up[i] = (byte) i;
      down[i] = (byte) (31 - i);
    }
    assertEquals("aa36918a", wireCrc(zeros));
    assertEquals("43aba862", wireCrc(ones));
    assertEquals("4e79dd46", wireCrc(up));
    assertEquals("5cdb3f11", wireCrc(down));
  }

  private static String wireCrc(byte[] data) {
    ByteBuf b = Unpooled.wrappedBuffer(data);
    ByteBuf out = Unpooled.buffer(4).writeIntLE(Crc32c.of(b, 0, data.length));
    String hex = ByteBufUtil.hexDump(out);
    b.release();
    out.release();
    return hex;
  }

  @Test
  void encoderPutsTheDataDigestOnTheWireInRfcByteOrder() {
    NopOutPdu nop = new NopOutPdu();
    nop.data(Unpooled.wrappedBuffer(new byte[32]));
    byte[] wire = encode(limits(false, true), nop);
    assertEquals(48 + 32 + 4, wire.length);
    assertEquals("aa36918a", ByteBufUtil.hexDump(wire, wire.length - 4, 4));
  }

  // ---- round trips ----

  @Test
  void everyOpcodeRoundTripsWithAndWithoutDigestsAndAllPaddings() {
    Random rnd = new Random(7143);
    for (Opcode op : Opcode.values()) {
      for (int digests = 0; digests < 4; digests++) {
        CodecLimits limits = limits((digests & 1) != 0, (digests & 2) != 0);
        for (int dataLength = 0; dataLength <= 9; dataLength++) {
          int ahsLength = dataLength % 3 == 0 ? 8 : 0;
          Pdu sent = randomPdu(rnd, op, ahsLength, dataLength);
          byte[] bhs = bytes(sent.bhs());
          byte[] ahs = bytes(sent.ahs());
          byte[] data = bytes(sent.data());
          byte[] wire = encode(limits, sent);
          int expectedLength = 48 + ahsLength + (limits.headerDigest() ? 4 : 0) + PduDecoder.pad4(dataLength)
              + (limits.dataDigest() && dataLength > 0 ? 4 : 0);
          assertEquals(expectedLength, wire.length, op + " " + dataLength);
          List<Object> got = decode(limits, wire);
          assertEquals(1, got.size(), op + " " + dataLength);
          Pdu pdu = assertInstanceOf(Pdu.class, got.get(0));
          assertEquals(op, pdu.opcode());
          assertEquals(Pdus.wrap(Unpooled.wrappedBuffer(bhs), null, null).getClass(), pdu.getClass());
          assertArrayEquals(bhs, bytes(pdu.bhs()), "BHS, reserved bits included, survives: " + op);
          assertArrayEquals(ahs, bytes(pdu.ahs()));
          assertArrayEquals(data, bytes(pdu.data()));
          assertFalse(pdu.dataDigestError());
          releaseAll(got);
        }
      }
    }
  }

  @Test
  void typedFieldsRoundTrip() {
    ScsiCommandPdu cmd = new ScsiCommandPdu();
    cmd.read(true).taskAttribute(2).expectedDataTransferLength(4096).cdb(new byte[] {0x28, 0, 0, 0, 0, 1, 0, 0, 8, 0});
    cmd.itt(0x12345678).lun(0x0001000000000000L);
    cmd.cmdSn(99).expStatSn(7);
    List<Object> got = decode(limits(true, true), encode(limits(true, true), cmd));
    ScsiCommandPdu c = assertInstanceOf(ScsiCommandPdu.class, got.get(0));
    assertTrue(c.read());
    assertFalse(c.write());
    assertEquals(2, c.taskAttribute());
    assertEquals(4096, c.expectedDataTransferLength());
    assertEquals(0x28, c.cdb().getByte(0));
    assertEquals(0x12345678, c.itt());
    assertEquals(0x0001000000000000L, c.lun());
    assertEquals(99, c.cmdSn());
    assertEquals(7, c.expStatSn());
    releaseAll(got);

    LoginRequestPdu login = new LoginRequestPdu();
    login.transit(true).stages(1, 3).isid(0x23d000000001L).tsih(0).cid(5);
    login.data(Unpooled.copiedBuffer("InitiatorName=iqn.x\0", java.nio.charset.StandardCharsets.UTF_8));
    got = decode(limits(false, false), encode(limits(false, false), login));
    LoginRequestPdu l = assertInstanceOf(LoginRequestPdu.class, got.get(0));
    assertTrue(l.transit());
    assertTrue(l.immediate());
    assertEquals(1, l.csg());
    assertEquals(3, l.nsg());
    assertEquals(0x23d000000001L, l.isid());
    assertEquals(5, l.cid());
    assertEquals(20, l.dataSegmentLength());
    releaseAll(got);
  }

  // ---- framing ----

  @Test
  void inputSplitAtEveryByte() {
    Random rnd = new Random(1);
    CodecLimits limits = limits(true, true);
    byte[] one = encode(limits, randomPdu(rnd, Opcode.SCSI_COMMAND, 8, 5));
    byte[] two = concat(one, encode(limits, randomPdu(rnd, Opcode.DATA_OUT, 0, 9)));
    for (int cut = 1; cut < two.length; cut++) {
      List<Object> got = decode(limits, two, cut);
      assertEquals(2, got.size(), "cut at " + cut);
      assertEquals(Opcode.SCSI_COMMAND, ((Pdu) got.get(0)).opcode());
      assertEquals(Opcode.DATA_OUT, ((Pdu) got.get(1)).opcode());
      assertEquals(9, ((Pdu) got.get(1)).data().readableBytes());
      releaseAll(got);
    }
    // and one byte at a time
    int[] cuts = new int[two.length - 1];
    for (int i = 0; i < cuts.length; i++) cuts[i] = i + 1;
    List<Object> got = decode(limits, two, cuts);
    assertEquals(2, got.size());
    releaseAll(got);
  }

  @Test
  void twoPdusInOneBuffer() {
    Random rnd = new Random(2);
    CodecLimits limits = limits(false, false);
    byte[] wire = concat(encode(limits, randomPdu(rnd, Opcode.NOP_OUT, 0, 3)),
        encode(limits, randomPdu(rnd, Opcode.TEXT_REQUEST, 0, 0)));
    List<Object> got = decode(limits, wire);
    assertEquals(2, got.size());
    assertEquals(Opcode.NOP_OUT, ((Pdu) got.get(0)).opcode());
    assertEquals(Opcode.TEXT_REQUEST, ((Pdu) got.get(1)).opcode());
    releaseAll(got);
  }

  @Test
  void dataSegmentOverTheLimitIsOneFramingErrorAndNothingAfter() {
    CodecLimits limits = limits(false, false).maxRecvDataSegmentLength(512);
    Random rnd = new Random(3);
    byte[] tooLong = encode(limits, randomPdu(rnd, Opcode.DATA_OUT, 0, 513));
    byte[] fine = encode(limits, randomPdu(rnd, Opcode.NOP_OUT, 0, 0));
    List<Object> got = decode(limits, concat(concat(fine, tooLong), fine), fine.length + 48);
    assertEquals(2, got.size());
    assertEquals(Opcode.NOP_OUT, ((Pdu) got.get(0)).opcode());
    FramingError e = assertInstanceOf(FramingError.class, got.get(1));
    assertTrue(e.reason().contains("MaxRecvDataSegmentLength"), e.reason());
    releaseAll(got);
    // exactly at the limit is fine
    got = decode(limits, encode(limits, randomPdu(rnd, Opcode.DATA_OUT, 0, 512)));
    assertInstanceOf(Pdu.class, got.get(0));
    releaseAll(got);
  }

  @Test
  void totalAhsLengthOverTheLimit() {
    CodecLimits limits = new CodecLimits(16);
    Random rnd = new Random(4);
    byte[] wire = encode(limits, randomPdu(rnd, Opcode.SCSI_COMMAND, 20, 0));
    List<Object> got = decode(limits, concat(wire, wire));
    assertEquals(1, got.size());
    assertTrue(assertInstanceOf(FramingError.class, got.get(0)).reason().contains("TotalAHSLength"));
    got = decode(limits, encode(limits, randomPdu(rnd, Opcode.SCSI_COMMAND, 16, 0)));
    assertInstanceOf(Pdu.class, got.get(0));
    releaseAll(got);
  }

  @Test
  void headerDigestMismatchIsAFramingError() {
    CodecLimits limits = limits(true, false);
    Random rnd = new Random(5);
    byte[] wire = encode(limits, randomPdu(rnd, Opcode.NOP_OUT, 0, 4));
    wire[48] ^= 1;
    List<Object> got = decode(limits, concat(wire, encode(limits, randomPdu(rnd, Opcode.NOP_OUT, 0, 0))));
    assertEquals(1, got.size());
    assertTrue(assertInstanceOf(FramingError.class, got.get(0)).reason().contains("header digest"));
    // a flipped header bit is caught the same way
    wire = encode(limits, randomPdu(rnd, Opcode.NOP_OUT, 0, 4));
    wire[20] ^= 0x10;
    got = decode(limits, wire);
    assertInstanceOf(FramingError.class, got.get(0));
  }

  @Test
  void dataDigestMismatchMarksThePdu() {
    CodecLimits limits = limits(false, true);
    Random rnd = new Random(6);
    for (int len = 1; len <= 8; len++) {
      byte[] wire = encode(limits, randomPdu(rnd, Opcode.DATA_OUT, 0, len));
      wire[48] ^= 0x80; // first data byte
      byte[] next = encode(limits, randomPdu(rnd, Opcode.NOP_OUT, 0, 0));
      List<Object> got = decode(limits, concat(wire, next));
      assertEquals(2, got.size(), "the stream stays framed");
      assertTrue(((Pdu) got.get(0)).dataDigestError());
      assertFalse(((Pdu) got.get(1)).dataDigestError());
      releaseAll(got);
    }
    // the padding is covered by the digest too (RFC 7143 §13.1)
    byte[] wire = encode(limits, randomPdu(rnd, Opcode.DATA_OUT, 0, 3));
    wire[48 + 3] = 1;
    List<Object> got = decode(limits, wire);
    assertTrue(((Pdu) got.get(0)).dataDigestError());
    releaseAll(got);
  }

  @Test
  void reservedBitsSurvive() {
    CodecLimits limits = limits(true, true);
    NopOutPdu nop = new NopOutPdu();
    // RFC 7143 §11.18: bytes 2-3, 36-47 are reserved in a NOP-Out, as is bit 7 of byte 0
    for (int i : new int[] {2, 3, 36, 40, 44, 47}) nop.bhs().setByte(i, 0xff);
    nop.bhs().setByte(0, nop.bhs().getByte(0) | 0x80);
    byte[] bhs = bytes(nop.bhs());
    List<Object> got = decode(limits, encode(limits, nop));
    assertArrayEquals(bhs, bytes(((Pdu) got.get(0)).bhs()));
    assertEquals(Opcode.NOP_OUT, ((Pdu) got.get(0)).opcode());
    releaseAll(got);
  }

  @Test
  void fuzzedBytesNeverThrowOutOfThePipeline() {
    Random rnd = new Random(20240101);
    List<byte[]> seeds = new ArrayList<>();
    for (Opcode op : Opcode.values()) {
      seeds.add(encode(limits(true, true), randomPdu(rnd, op, rnd.nextInt(3) * 4, rnd.nextInt(40))));
    }
    for (int i = 0; i < 20_000; i++) {
      CodecLimits limits = limits(rnd.nextBoolean(), rnd.nextBoolean());
      byte[] wire;
      if (rnd.nextInt(4) == 0) {
        wire = new byte[rnd.nextInt(200)];
        rnd.nextBytes(wire);
      } else {
        wire = seeds.get(rnd.nextInt(seeds.size())).clone();
        for (int m = rnd.nextInt(4); m >= 0; m--) wire[rnd.nextInt(wire.length)] ^= (byte) (1 << rnd.nextInt(8));
      }
      EmbeddedChannel ch = new EmbeddedChannel(new PduDecoder(limits));
      int cut = wire.length == 0 ? 0 : rnd.nextInt(wire.length);
      ByteBuf a = Unpooled.wrappedBuffer(wire, 0, cut);
      ByteBuf b = Unpooled.wrappedBuffer(wire, cut, wire.length - cut);
      ch.writeInbound(a);
      ch.writeInbound(b);
      ch.checkException();
      int framingErrors = 0;
      for (Object o; (o = ch.readInbound()) != null; ) {
        if (o instanceof Pdu p) {
          assertEquals(0, framingErrors, "nothing after a framing error");
          assertTrue(p.release());
        } else {
          assertInstanceOf(FramingError.class, o);
          framingErrors++;
        }
      }
      assertTrue(framingErrors <= 1);
      ch.finishAndReleaseAll();
      // (an empty piece is Unpooled.EMPTY_BUFFER, which is never released)
      assertTrue(a.refCnt() == 0 || a.capacity() == 0, "first piece released");
      assertTrue(b.refCnt() == 0 || b.capacity() == 0, "second piece released");
    }
  }

  @Test
  void nothingIsDecodedFromAnIncompletePdu() {
    CodecLimits limits = limits(false, false);
    byte[] wire = encode(limits, randomPdu(new Random(8), Opcode.NOP_OUT, 0, 5));
    EmbeddedChannel ch = new EmbeddedChannel(new PduDecoder(limits));
    ch.writeInbound(input(wire, 0, wire.length - 1));
    assertNull(ch.readInbound());
    ch.finishAndReleaseAll();
  }
}
