package io.spindle.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** NOP-Out, RFC 7143 §11.18. */
public final class NopOutPdu extends InitiatorPdu {

  public NopOutPdu(byte[] bhs, ByteBuf ahs, ByteBuf data) {
    super(bhs, ahs, data);
  }

  public NopOutPdu() {
    super(Opcode.NOP_OUT);
    finalBit(true);
  }

}
