package io.spindle.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** SNACK Request, RFC 7143 §11.16. */
public final class SnackRequestPdu extends InitiatorPdu {

  public SnackRequestPdu(byte[] bhs, ByteBuf ahs, ByteBuf data) {
    super(bhs, ahs, data);
  }

  public SnackRequestPdu() {
    super(Opcode.SNACK_REQUEST);
    finalBit(true);
  }

  public static final int DATA_R2T = 0;
  public static final int STATUS = 1;
  public static final int DATA_ACK = 2;
  public static final int R_DATA = 3;

  public int type() {
    return u8(1) & 0x0f;
  }

  public SnackRequestPdu type(int t) {
    u8(1, 0x80 | (t & 0x0f));
    return this;
  }

  public int begRun() {
    return int32(40);
  }

  public int runLength() {
    return int32(44);
  }

  /** RunLength as the unsigned count it is (RFC 7143 §11.16.4): 0 means "all from BegRun". */
  public long runLengthUnsigned() {
    return uint32(44);
  }

  /** BegRun + RunLength as unsigned numbers, without wrapping: one past the run's last number. */
  public long runEnd() {
    return uint32(40) + uint32(44);
  }

  public SnackRequestPdu run(int begRun, int runLength) {
    int32(40, begRun);
    int32(44, runLength);
    return this;
  }
}
