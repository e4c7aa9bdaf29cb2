package io.spindle.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** Ready To Transfer, RFC 7143 §11.8. */
public final class R2tPdu extends TargetPdu {

  public R2tPdu(byte[] bhs, ByteBuf ahs, ByteBuf data) {
    super(bhs, ahs, data);
  }

  public R2tPdu() {
    super(Opcode.R2T);
    finalBit(true);
  }

  public int r2tSn() {
    return int32(36);
  }

  public R2tPdu r2tSn(int v) {
    int32(36, v);
    return this;
  }

  /** The field's 32 bits; the value is unsigned (RFC 7143 §11.2): read it with Integer.toUnsignedLong. */
  public int bufferOffset() {
    return int32(40);
  }

  public R2tPdu bufferOffset(int v) {
    int32(40, v);
    return this;
  }

  /** The field's 32 bits; the value is unsigned (RFC 7143 §11.2): read it with Integer.toUnsignedLong. */
  public int desiredDataTransferLength() {
    return int32(44);
  }

  public R2tPdu desiredDataTransferLength(int v) {
    int32(44, v);
    return this;
  }
}
