package io.spindle.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** SCSI Response, RFC 7143 §11.4. The data segment holds SenseLength and sense data. */
public final class ScsiResponsePdu extends TargetPdu {

  public ScsiResponsePdu(byte[] bhs, ByteBuf ahs, ByteBuf data) {
    super(bhs, ahs, data);
  }

  public ScsiResponsePdu() {
    super(Opcode.SCSI_RESPONSE);
    finalBit(true);
  }

  public static final int FLAG_BIDI_OVERFLOW = 0x10;
  public static final int FLAG_BIDI_UNDERFLOW = 0x08;
  public static final int FLAG_OVERFLOW = 0x04;
  public static final int FLAG_UNDERFLOW = 0x02;

  public boolean overflow() {
    return flag(1, FLAG_OVERFLOW);
  }

  public boolean underflow() {
    return flag(1, FLAG_UNDERFLOW);
  }

  public ScsiResponsePdu residualFlags(boolean overflow, boolean underflow) {
    setFlag(1, FLAG_OVERFLOW, overflow);
    setFlag(1, FLAG_UNDERFLOW, underflow);
    return this;
  }

  /** iSCSI Response field: 0x00 command completed at target, 0x01 target failure. */
  public int response() {
    return u8(2);
  }

  public ScsiResponsePdu response(int v) {
    u8(2, v);
    return this;
  }

  /** SCSI status (SAM-5). */
  public int status() {
    return u8(3);
  }

  public ScsiResponsePdu status(int v) {
    u8(3, v);
    return this;
  }

  public int snackTag() {
    return int32(20);
  }

  public int expDataSn() {
    return int32(36);
  }

  public ScsiResponsePdu expDataSn(int v) {
    int32(36, v);
    return this;
  }

  /** The field's 32 bits; the value is unsigned (RFC 7143 §11.2): read it with Integer.toUnsignedLong. */
  public int bidiReadResidualCount() {
    return int32(40);
  }

  /** The field's 32 bits; the value is unsigned (RFC 7143 §11.2): read it with Integer.toUnsignedLong. */
  public int residualCount() {
    return int32(44);
  }

  public ScsiResponsePdu residualCount(int v) {
    int32(44, v);
    return this;
  }
}
