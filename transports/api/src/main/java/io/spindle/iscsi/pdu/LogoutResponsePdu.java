package io.spindle.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** Logout Response, RFC 7143 §11.15. */
public final class LogoutResponsePdu extends TargetPdu {

  public LogoutResponsePdu(byte[] bhs, ByteBuf ahs, ByteBuf data) {
    super(bhs, ahs, data);
  }

  public LogoutResponsePdu() {
    super(Opcode.LOGOUT_RESPONSE);
    finalBit(true);
  }

  public static final int CLOSED = 0;
  public static final int CID_NOT_FOUND = 1;
  public static final int RECOVERY_NOT_SUPPORTED = 2;
  public static final int CLEANUP_FAILED = 3;

  public int response() {
    return u8(2);
  }

  public LogoutResponsePdu response(int v) {
    u8(2, v);
    return this;
  }

  public int time2Wait() {
    return u16(40);
  }

  public int time2Retain() {
    return u16(42);
  }

  public LogoutResponsePdu times(int time2Wait, int time2Retain) {
    u16(40, time2Wait);
    u16(42, time2Retain);
    return this;
  }
}
