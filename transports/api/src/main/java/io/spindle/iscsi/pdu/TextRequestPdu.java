package io.spindle.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** Text Request, RFC 7143 §11.10. */
public final class TextRequestPdu extends InitiatorPdu {

  public TextRequestPdu(byte[] bhs, ByteBuf ahs, ByteBuf data) {
    super(bhs, ahs, data);
  }

  public TextRequestPdu() {
    super(Opcode.TEXT_REQUEST);

  }

  /** C bit: the text continues in the next PDU. */
  public boolean continueBit() {
    return flag(1, 0x40);
  }

  public TextRequestPdu continueBit(boolean on) {
    setFlag(1, 0x40, on);
    return this;
  }
}
