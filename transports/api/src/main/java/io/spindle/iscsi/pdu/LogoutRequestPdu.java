package io.spindle.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** Logout Request, RFC 7143 §11.14. */
public final class LogoutRequestPdu extends InitiatorPdu {

  public LogoutRequestPdu(byte[] bhs, ByteBuf ahs, ByteBuf data) {
    super(bhs, ahs, data);
  }

  public LogoutRequestPdu() {
    super(Opcode.LOGOUT_REQUEST);
    finalBit(true);
  }

  public static final int CLOSE_SESSION = 0;
  public static final int CLOSE_CONNECTION = 1;
  public static final int REMOVE_FOR_RECOVERY = 2;

  public int reasonCode() {
    return u8(1) & 0x7f;
  }

  public LogoutRequestPdu reasonCode(int v) {
    u8(1, 0x80 | (v & 0x7f));
    return this;
  }

  public int cid() {
    return u16(20);
  }

  public LogoutRequestPdu cid(int v) {
    u16(20, v);
    return this;
  }
}
