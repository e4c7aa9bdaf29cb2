package io.spindle.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** SCSI Data-In, RFC 7143 §11.7. */
public final class DataInPdu extends TargetPdu {

  public DataInPdu(byte[] bhs, ByteBuf ahs, ByteBuf data) {
    super(bhs, ahs, data);
  }

  public DataInPdu() {
    super(Opcode.DATA_IN);

  }

  public static final int FLAG_ACK = 0x40;
  public static final int FLAG_OVERFLOW = 0x04;
  public static final int FLAG_UNDERFLOW = 0x02;
  public static final int FLAG_STATUS = 0x01;

  /** A bit: the target asks for a positive acknowledgement (DataACK SNACK), ERL &gt; 0 only. */
  public boolean ackRequested() {
    return flag(1, FLAG_ACK);
  }

  public DataInPdu ackRequested(boolean on) {
    setFlag(1, FLAG_ACK, on);
    return this;
  }

  /** S bit: this PDU carries the SCSI status (phase collapse, RFC 7143 §11.7.4). */
  public boolean hasStatus() {
    return flag(1, FLAG_STATUS);
  }

  public DataInPdu status(int scsiStatus, boolean overflow, boolean underflow, int residual) {
    setFlag(1, FLAG_STATUS, true);
    setFlag(1, FLAG_OVERFLOW, overflow);
    setFlag(1, FLAG_UNDERFLOW, underflow);
    u8(3, scsiStatus);
    int32(44, residual);
    return this;
  }

  public boolean overflow() {
    return flag(1, FLAG_OVERFLOW);
  }

  public boolean underflow() {
    return flag(1, FLAG_UNDERFLOW);
  }

  public int scsiStatus() {
    return u8(3);
  }

  public int dataSn() {
    return int32(36);
  }

  public DataInPdu dataSn(int v) {
    int32(36, v);
    return this;
  }

  /** The field's 32 bits; the value is unsigned (RFC 7143 §11.2): read it with Integer.toUnsignedLong. */
  public int bufferOffset() {
    return int32(40);
  }

  public DataInPdu bufferOffset(int v) {
    int32(40, v);
    return this;
  }

  /** The field's 32 bits; the value is unsigned (RFC 7143 §11.2): read it with Integer.toUnsignedLong. */
  public int residualCount() {
    return int32(44);
  }
}
