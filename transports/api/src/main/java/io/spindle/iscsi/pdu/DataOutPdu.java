package io.spindle.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** SCSI Data-Out, RFC 7143 §11.7. */
public final class DataOutPdu extends InitiatorPdu {

  public DataOutPdu(byte[] bhs, ByteBuf ahs, ByteBuf data) {
    super(bhs, ahs, data);
  }

  public DataOutPdu() {
    super(Opcode.DATA_OUT);

  }

  public int dataSn() {
    return int32(36);
  }

  public DataOutPdu dataSn(int v) {
    int32(36, v);
    return this;
  }

  /** Buffer Offset, RFC 7143 §11.7.6: unsigned, 0 .. 2^32 - 1. */
  public long bufferOffset() {
    return uint32(40);
  }

  /** Sets the offset; the low 32 bits of {@code v} are sent. */
  public DataOutPdu bufferOffset(long v) {
    int32(40, (int) v);
    return this;
  }
}
