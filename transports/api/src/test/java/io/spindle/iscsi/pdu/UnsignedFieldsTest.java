package io.spindle.iscsi.pdu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * RFC 7143 §11.2: the 32-bit lengths, offsets and counts a target reads from the wire are
 * unsigned. Each is read back at the values a signed read turns negative (2^31, 2^32 - 1) and
 * at the ordinary ones, from the bytes as an initiator puts them on the wire.
 */
class UnsignedFieldsTest {

  private static byte[] bhsWith(int opcode, int at, long value) {
    byte[] bhs = new byte[Pdu.BHS_LENGTH];
    bhs[0] = (byte) opcode;
    for (int i = 0; i < 4; i++) bhs[at + i] = (byte) (value >>> (24 - 8 * i));
    return bhs;
  }

  @ParameterizedTest
  @ValueSource(longs = {0, 512, 0x7fffffffL, 0x80000000L, 0xfffffffeL, 0xffffffffL})
  void expectedDataTransferLength(long v) {
    ScsiCommandPdu pdu = new ScsiCommandPdu(bhsWith(0x01, 20, v), null, null);
    assertEquals(v, pdu.expectedDataTransferLength());
    assertEquals(v, new ScsiCommandPdu().expectedDataTransferLength(v).expectedDataTransferLength());
    pdu.release();
  }

  @ParameterizedTest
  @ValueSource(longs = {0, 8192, 0x7fffffffL, 0x80000000L, 0xffffffffL})
  void dataOutBufferOffset(long v) {
    DataOutPdu pdu = new DataOutPdu(bhsWith(0x05, 40, v), null, null);
    assertEquals(v, pdu.bufferOffset());
    assertEquals(v, new DataOutPdu().bufferOffset(v).bufferOffset());
    pdu.release();
  }

  @ParameterizedTest
  @ValueSource(longs = {0, 3, 0x7fffffffL, 0x80000000L, 0xffffffffL})
  void snackRunLength(long v) {
    SnackRequestPdu pdu = new SnackRequestPdu(bhsWith(0x10, 44, v), null, null);
    assertEquals(v, pdu.runLengthUnsigned());
    assertEquals(v, pdu.runEnd(), "BegRun 0 + RunLength");
    SnackRequestPdu far = new SnackRequestPdu().run((int) 0xffffffffL, (int) v);
    assertEquals(0xffffffffL + v, far.runEnd(), "BegRun 2^32 - 1 + RunLength does not wrap");
    pdu.release();
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 0x00ffffff, 0x00800000})
  void dataSegmentLengthIs24BitsUnsigned(int v) {
    byte[] bhs = new byte[Pdu.BHS_LENGTH];
    bhs[5] = (byte) (v >>> 16);
    bhs[6] = (byte) (v >>> 8);
    bhs[7] = (byte) v;
    Pdu pdu = new NopOutPdu(bhs, null, null);
    assertEquals(v, pdu.dataSegmentLength());
    pdu.release();
  }
}
