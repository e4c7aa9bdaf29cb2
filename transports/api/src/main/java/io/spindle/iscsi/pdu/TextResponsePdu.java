package io.spindle.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** Text Response, RFC 7143 §11.11. */
public final class TextResponsePdu extends TargetPdu {

  public TextResponsePdu(byte[] bhs, ByteBuf ahs, ByteBuf data) {
    super(bhs, ahs, data);
  }

  public TextResponsePdu() {
    super(Opcode.TEXT_RESPONSE);

  }

  public boolean continueBit() {
    return flag(1, 0x40);
  }

  public TextResponsePdu continueBit(boolean on) {
    setFlag(1, 0x40, on);
    return this;
  }
}
