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

  public int bufferOffset() {
    return int32(40);
  }

  public DataOutPdu bufferOffset(int v) {
    int32(40, v);
    return this;
  }
}
