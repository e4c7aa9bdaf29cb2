package io.spindle.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** Asynchronous Message, RFC 7143 §11.9. */
public final class AsyncMessagePdu extends TargetPdu {

  public AsyncMessagePdu(byte[] bhs, ByteBuf ahs, ByteBuf data) {
    super(bhs, ahs, data);
  }

  public AsyncMessagePdu() {
    super(Opcode.ASYNC_MESSAGE);
    finalBit(true);
    itt(0xffffffff);
  }

  public static final int SCSI_ASYNC_EVENT = 0;
  public static final int LOGOUT_REQUESTED = 1;
  public static final int CONNECTION_DROP = 2;
  public static final int SESSION_DROP = 3;
  public static final int NEGOTIATION_REQUESTED = 4;
  public static final int TASK_TERMINATION = 5;

  public int asyncEvent() {
    return u8(36);
  }

  public AsyncMessagePdu asyncEvent(int v) {
    u8(36, v);
    return this;
  }

  public int asyncVCode() {
    return u8(37);
  }

  public int parameter1() {
    return u16(38);
  }

  public AsyncMessagePdu parameters(int p1, int p2, int p3) {
    u16(38, p1);
    u16(40, p2);
    u16(42, p3);
    return this;
  }

  public int parameter2() {
    return u16(40);
  }

  public int parameter3() {
    return u16(42);
  }
}
