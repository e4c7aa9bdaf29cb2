package io.spindle.rdma.iwarp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.spindle.rdma.TerminateInfo;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** MPA frames, FPDU framing and DDP/RDMAP headers on an EmbeddedChannel. */
class FpduCodecTest {

  private static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;
  private final List<Object> leftovers = new ArrayList<>();

  @AfterEach
  void releaseLeftovers() {
    for (Object o : leftovers) io.netty.util.ReferenceCountUtil.release(o);
  }

  /** A decoder past the MPA exchange, as after a Reply with the given C bit. */
  private static EmbeddedChannel fpduChannel(boolean crc) {
    EmbeddedChannel ch = new EmbeddedChannel(new FpduDecoder());
    ch.writeInbound(new MpaFrame(true, false, crc, false, false, 1, new byte[0]).encode(ALLOC));
    assertInstanceOf(MpaFrame.class, ch.readInbound());
    return ch;
  }

  private static byte[] pattern(int n) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) b[i] = (byte) (i * 7 + 1);
    return b;
  }

  private static byte[] bytes(ByteBuf b) {
    byte[] out = ByteBufUtil.getBytes(b);
    b.release();
    return out;
  }

  @Test
  void crc32cGoesOnTheWireLeastSignificantByteFirst() {
    // RFC 3720 B.4 test vector: 32 bytes of zeros.
    java.util.zip.CRC32C c = new java.util.zip.CRC32C();
    c.update(new byte[32]);
    ByteBuf b = Unpooled.buffer().writeIntLE((int) c.getValue());
    assertArrayEquals(new byte[] {(byte) 0xaa, 0x36, (byte) 0x91, (byte) 0x8a}, bytes(b));
  }

  @Test
  void padMakesTheFrameAMultipleOfFour() {
    for (int len = 0; len < 16; len++) assertEquals(0, (2 + len + Fpdu.pad(len)) % 4, "length " + len);
  }

  @Test
  void mpaRequestRoundTripWithIrdOrdBlock() {
    MpaFrame req = MpaFrame.withIrdOrd(false, true, false, 128 | MpaFrame.IRD_PEER_TO_PEER,
        1 | MpaFrame.ORD_ZERO_LENGTH_WRITE_RTR, new byte[] {(byte) 0x80, 0, 0, 0});
    byte[] wire = bytes(req.encode(ALLOC));
    assertEquals("MPA ID Req Frame", new String(wire, 0, 16, java.nio.charset.StandardCharsets.US_ASCII));
    // C, H and revision 2; PD_Length 8 (RFC 6581 §5: the block counts in PD_Length).
    assertEquals(0x50, wire[16] & 0xff);
    assertEquals(0x02, wire[17]);
    assertEquals(8, ((wire[18] & 0xff) << 8) | (wire[19] & 0xff));
    EmbeddedChannel ch = new EmbeddedChannel(new FpduDecoder());
    // Split at every byte: the frame comes out only when whole.
    for (byte b : wire) ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
    MpaFrame got = ch.readInbound();
    assertFalse(got.reply());
    assertTrue(got.crc());
    assertTrue(got.enhanced());
    assertEquals(2, got.revision());
    assertEquals(128, got.irdWord() & MpaFrame.IRD_ORD_MASK);
    assertEquals(1, got.ordWord() & MpaFrame.IRD_ORD_MASK);
    assertTrue((got.irdWord() & MpaFrame.IRD_PEER_TO_PEER) != 0);
    assertArrayEquals(new byte[] {(byte) 0x80, 0, 0, 0}, got.ulpPrivateData());
    assertFalse(ch.finish());
  }

  @Test
  void mpaRejectReplyCarriesTheRBit() {
    byte[] wire = bytes(new MpaFrame(true, false, false, true, false, 1, "no".getBytes()).encode(ALLOC));
    assertEquals("MPA ID Rep Frame", new String(wire, 0, 16, java.nio.charset.StandardCharsets.US_ASCII));
    assertEquals(0x20, wire[16] & 0xff);
    assertEquals(1, wire[17]);
  }

  @Test
  void mpaPrivateDataOverTheLimitIsAFramingError() {
    ByteBuf b = Unpooled.buffer().writeBytes(MpaFrame.REQUEST_KEY).writeShort(2).writeShort(513);
    EmbeddedChannel ch = new EmbeddedChannel(new FpduDecoder());
    ch.writeInbound(b);
    IwarpError err = ch.readInbound();
    assertEquals(TerminateInfo.LAYER_LLP, err.layer());
    assertEquals(TerminateInfo.LLP_INVALID_REQUEST_REPLY, err.errorCode());
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[600]));
    assertNull(ch.readInbound(), "everything after a framing error is discarded");
    assertFalse(ch.finish());
  }

  @Test
  void notAnMpaKeyIsRefused() {
    EmbeddedChannel ch = new EmbeddedChannel(new FpduDecoder());
    ch.writeInbound(Unpooled.wrappedBuffer("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes()));
    IwarpError err = ch.readInbound();
    assertEquals(TerminateInfo.LLP_INVALID_REQUEST_REPLY, err.errorCode());
    assertFalse(ch.finish());
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void untaggedSegmentRoundTripSplitAtEveryByte(boolean crc) {
    byte[] payload = pattern(37);
    ByteBuf frame = Fpdu.encode(ALLOC, DdpSegment.untagged(DdpSegment.SEND_SE_INVALIDATE, true, 0x1234_5678,
        DdpSegment.QN_SEND, 7, 96, Unpooled.wrappedBuffer(payload)), crc);
    byte[] wire = bytes(frame);
    assertEquals(0, wire.length % 4);
    assertEquals(18 + 37, ((wire[0] & 0xff) << 8) | (wire[1] & 0xff));
    // RFC 5041 §4.2 / RFC 5040 §4.2: L, DV=1 / RV=1, opcode 6.
    assertEquals(0x41, wire[2] & 0xff);
    assertEquals(0x46, wire[3] & 0xff);
    if (!crc) assertArrayEquals(new byte[4], java.util.Arrays.copyOfRange(wire, wire.length - 4, wire.length));
    EmbeddedChannel ch = fpduChannel(crc);
    for (byte b : wire) ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
    DdpSegment seg = ch.readInbound();
    assertFalse(seg.tagged());
    assertTrue(seg.last());
    assertEquals(DdpSegment.SEND_SE_INVALIDATE, seg.opcode());
    assertEquals(0x1234_5678, seg.rsvdUlp());
    assertEquals(7, seg.msn());
    assertEquals(96, seg.messageOffset());
    assertArrayEquals(payload, bytes(seg.payload()));
    assertNull(ch.readInbound());
    assertFalse(ch.finish());
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 2, 3, 65535 - 14})
  void taggedSegmentsOfEveryPadRoundTrip(int length) {
    byte[] payload = pattern(length);
    ByteBuf frame = Fpdu.encode(ALLOC, DdpSegment.tagged(DdpSegment.READ_RESPONSE, length % 2 == 0, 0xabcdef01,
        0x1122_3344_5566_7788L, Unpooled.wrappedBuffer(payload)), true);
    EmbeddedChannel ch = fpduChannel(true);
    ch.writeInbound(frame);
    DdpSegment seg = ch.readInbound();
    assertTrue(seg.tagged());
    assertEquals(length % 2 == 0, seg.last());
    assertEquals(0xabcdef01, seg.stag());
    assertEquals(0x1122_3344_5566_7788L, seg.taggedOffset());
    assertArrayEquals(payload, bytes(seg.payload()));
    assertFalse(ch.finish());
  }

  @Test
  void severalFpdusInOneReadComeOutInOrder() {
    ByteBuf all = Unpooled.buffer();
    for (int i = 1; i <= 3; i++) {
      all.writeBytes(bytes(Fpdu.encode(ALLOC, DdpSegment.untagged(DdpSegment.SEND, true, 0, 0, i, 0,
          Unpooled.wrappedBuffer(pattern(i))), false)));
    }
    EmbeddedChannel ch = fpduChannel(false);
    ch.writeInbound(all);
    for (int i = 1; i <= 3; i++) {
      DdpSegment seg = ch.readInbound();
      assertEquals(i, seg.msn());
      assertEquals(i, seg.payload().readableBytes());
      seg.payload().release();
    }
    assertFalse(ch.finish());
  }

  @Test
  void crcMismatchIsAnLlpError() {
    byte[] wire = bytes(Fpdu.encode(ALLOC, DdpSegment.untagged(DdpSegment.SEND, true, 0, 0, 1, 0,
        Unpooled.wrappedBuffer(pattern(10))), true));
    wire[25] ^= 1;
    EmbeddedChannel ch = fpduChannel(true);
    ch.writeInbound(Unpooled.wrappedBuffer(wire));
    IwarpError err = ch.readInbound();
    assertEquals(TerminateInfo.LAYER_LLP, err.layer());
    assertEquals(TerminateInfo.LLP_CRC_ERROR, err.errorCode());
    assertFalse(ch.finish());
  }

  @Test
  void crcFieldIsIgnoredWhenNotNegotiated() {
    byte[] wire = bytes(Fpdu.encode(ALLOC, DdpSegment.untagged(DdpSegment.SEND, true, 0, 0, 1, 0,
        Unpooled.wrappedBuffer(pattern(10))), true));
    EmbeddedChannel ch = fpduChannel(false);
    ch.writeInbound(Unpooled.wrappedBuffer(wire));
    DdpSegment seg = ch.readInbound();
    seg.payload().release();
    assertFalse(ch.finish());
  }

  private static IwarpError decodeBad(int ulpduLength, int control) {
    ByteBuf b = Unpooled.buffer().writeShort(ulpduLength);
    if (ulpduLength >= 2) b.writeShort(control).writeZero(ulpduLength - 2);
    else b.writeZero(ulpduLength);
    b.writeZero(Fpdu.pad(ulpduLength) + 4);
    EmbeddedChannel ch = fpduChannel(false);
    ch.writeInbound(b);
    IwarpError err = ch.readInbound();
    assertFalse(ch.finish());
    return err;
  }

  @Test
  void badHeadersBecomeTheMatchingTerminateCodes() {
    IwarpError ddpVersion = decodeBad(18, 0x4200 | 0x40 | 3);
    assertEquals(TerminateInfo.LAYER_DDP, ddpVersion.layer());
    assertEquals(TerminateInfo.DDP_UNTAGGED_INVALID_VERSION, ddpVersion.errorCode());
    IwarpError taggedVersion = decodeBad(14, 0xC000 | 0x0200 | 0x40);
    assertEquals(TerminateInfo.DDP_TAGGED_INVALID_VERSION, taggedVersion.errorCode());
    IwarpError rdmapVersion = decodeBad(18, 0x4100 | 0x80 | 3);
    assertEquals(TerminateInfo.LAYER_RDMAP, rdmapVersion.layer());
    assertEquals(TerminateInfo.RDMAP_INVALID_VERSION, rdmapVersion.errorCode());
    IwarpError opcode = decodeBad(18, 0x4100 | 0x40 | 9);
    assertEquals(TerminateInfo.RDMAP_UNEXPECTED_OPCODE, opcode.errorCode());
    IwarpError shortTagged = decodeBad(10, 0xC100 | 0x40);
    assertEquals(TerminateInfo.LAYER_DDP, shortTagged.layer());
    IwarpError noControl = decodeBad(1, 0);
    assertEquals(TerminateInfo.LAYER_DDP, noControl.layer());
  }

  @Test
  void fuzzedBytesNeverThrowOrLeak() {
    java.util.Random random = new java.util.Random(42);
    for (int round = 0; round < 200; round++) {
      byte[] junk = new byte[random.nextInt(300)];
      random.nextBytes(junk);
      EmbeddedChannel ch = round % 2 == 0 ? fpduChannel(round % 4 == 0) : new EmbeddedChannel(new FpduDecoder());
      ch.writeInbound(Unpooled.wrappedBuffer(junk));
      for (Object o; (o = ch.readInbound()) != null; ) {
        if (o instanceof DdpSegment s) s.payload().release();
      }
      ch.finishAndReleaseAll();
    }
  }
}
