package io.spindle.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** NOP-In, RFC 7143 §11.19. */
public final class NopInPdu extends TargetPdu {

  public NopInPdu(byte[] bhs, ByteBuf ahs, ByteBuf data) {
    super(bhs, ahs, data);
  }

  public NopInPdu() {
    super(Opcode.NOP_IN);
    finalBit(true);
  }

}
