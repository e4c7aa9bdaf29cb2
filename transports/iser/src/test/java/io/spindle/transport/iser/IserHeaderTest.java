package io.spindle.transport.iser;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

/** iSER header, Hello/HelloReply and CM private data layouts (RFC 5046 / RFC 7145, Linux iser.h). */
class IserHeaderTest {

  private static byte[] encode(IserHeader h, IserHeader.Format f) {
    ByteBuf b = Unpooled.buffer();
    h.encode(b, f);
    byte[] out = ByteBufUtil.getBytes(b);
    b.release();
    return out;
  }

  @Test
  void rfc7145HeaderIs28BytesLikeLinux() {
    IserHeader h = new IserHeader(IserHeader.CONTROL, true, true, 0x01020304, 0x1112131415161718L, 0x21222324,
        0x3132333435363738L);
    byte[] wire = encode(h, IserHeader.Format.RFC7145);
    assertEquals(28, wire.length);
    assertEquals(0x1c, wire[0] & 0xff, "ISCSI_CTRL | WSV | RSV");
    assertArrayEquals(new byte[] {1, 2, 3, 4}, java.util.Arrays.copyOfRange(wire, 4, 8));
    assertEquals(0x11, wire[8]);
    assertArrayEquals(new byte[] {0x21, 0x22, 0x23, 0x24}, java.util.Arrays.copyOfRange(wire, 16, 20));
    assertEquals(0x38, wire[27]);
    assertEquals(h, IserHeader.decode(Unpooled.wrappedBuffer(wire), IserHeader.Format.RFC7145));
  }

  @Test
  void rfc5046HeaderIs12BytesWithZeroOffsets() {
    IserHeader h = new IserHeader(IserHeader.CONTROL, true, false, 7, 0, 0, 0);
    byte[] wire = encode(h, IserHeader.Format.RFC5046);
    assertEquals(12, wire.length);
    assertEquals(0x18, wire[0] & 0xff);
    assertEquals(h, IserHeader.decode(Unpooled.wrappedBuffer(wire), IserHeader.Format.RFC5046));
  }

  @Test
  void fieldsWithoutTheirValidBitReadAsZeroAndReservedBitsAreIgnored() {
    byte[] wire = encode(new IserHeader(IserHeader.CONTROL, true, true, 5, 6, 7, 8), IserHeader.Format.RFC7145);
    wire[0] = (byte) 0x13; // RSV cleared, a reserved bit set
    wire[2] = (byte) 0xff;
    IserHeader h = IserHeader.decode(Unpooled.wrappedBuffer(wire), IserHeader.Format.RFC7145);
    assertEquals(IserHeader.CONTROL, h.opcode());
    assertFalse(h.readStagValid());
    assertFalse(h.writeStagValid());
    assertEquals(0, h.readStag());
    assertNull(IserHeader.decode(Unpooled.wrappedBuffer(new byte[27]), IserHeader.Format.RFC7145));
  }

  @Test
  void helloAndHelloReplyRoundTrip() {
    ByteBuf b = Unpooled.buffer();
    new IserHello.Hello(10, 10, 128).encode(b, IserHeader.Format.RFC7145);
    assertEquals(28, b.readableBytes());
    assertEquals(0x20, b.getUnsignedByte(0));
    assertEquals(0xaa, b.getUnsignedByte(1));
    assertEquals(new IserHello.Hello(10, 10, 128), IserHello.Hello.decode(b, IserHeader.Format.RFC7145));
    b.clear();
    new IserHello.HelloReply(true, 1, 1, 4).encode(b, IserHeader.Format.RFC5046);
    assertEquals(12, b.readableBytes());
    assertEquals(0x31, b.getUnsignedByte(0), "opcode 3 with the F (reject) bit");
    assertEquals(new IserHello.HelloReply(true, 1, 1, 4), IserHello.HelloReply.decode(b, IserHeader.Format.RFC5046));
    b.release();
  }

  @Test
  void cmPrivateDataAsLinuxSendsIt() {
    IserCmPrivateData linux = IserCmPrivateData.parse(Buffer.buffer(new byte[] {(byte) 0x80, 0, 0, 0}));
    assertTrue(linux.zbvaNotSupported());
    assertFalse(linux.sendWithInvalidateNotSupported());
    assertEquals(Buffer.buffer(new byte[] {(byte) 0xc0, 0, 0, 0}), new IserCmPrivateData(true, true).encode());
    assertEquals(new IserCmPrivateData(false, false), IserCmPrivateData.parse(Buffer.buffer()));
  }
}
