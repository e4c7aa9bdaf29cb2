package io.spindle.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** Task Management Function Response, RFC 7143 §11.6. */
public final class TaskMgmtResponsePdu extends TargetPdu {

  public TaskMgmtResponsePdu(byte[] bhs, ByteBuf ahs, ByteBuf data) {
    super(bhs, ahs, data);
  }

  public TaskMgmtResponsePdu() {
    super(Opcode.TASK_MGMT_RESPONSE);
    finalBit(true);
  }

  public static final int FUNCTION_COMPLETE = 0;
  public static final int TASK_DOES_NOT_EXIST = 1;
  public static final int LUN_DOES_NOT_EXIST = 2;
  public static final int TASK_STILL_ALLEGIANT = 3;
  public static final int REASSIGNMENT_NOT_SUPPORTED = 4;
  public static final int FUNCTION_NOT_SUPPORTED = 5;
  public static final int AUTHORIZATION_FAILED = 6;
  public static final int FUNCTION_REJECTED = 255;

  public int response() {
    return u8(2);
  }

  public TaskMgmtResponsePdu response(int v) {
    u8(2, v);
    return this;
  }
}
