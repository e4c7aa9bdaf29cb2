package io.spindle.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** Task Management Function Request, RFC 7143 §11.5. */
public final class TaskMgmtRequestPdu extends InitiatorPdu {

  public TaskMgmtRequestPdu(byte[] bhs, ByteBuf ahs, ByteBuf data) {
    super(bhs, ahs, data);
  }

  public TaskMgmtRequestPdu() {
    super(Opcode.TASK_MGMT_REQUEST);
    finalBit(true);
  }

  public static final int ABORT_TASK = 1;
  public static final int ABORT_TASK_SET = 2;
  public static final int CLEAR_ACA = 3;
  public static final int CLEAR_TASK_SET = 4;
  public static final int LOGICAL_UNIT_RESET = 5;
  public static final int TARGET_WARM_RESET = 6;
  public static final int TARGET_COLD_RESET = 7;
  public static final int TASK_REASSIGN = 8;

  public int function() {
    return u8(1) & 0x7f;
  }

  public TaskMgmtRequestPdu function(int f) {
    u8(1, 0x80 | (f & 0x7f));
    return this;
  }

  public int referencedTaskTag() {
    return int32(20);
  }

  public TaskMgmtRequestPdu referencedTaskTag(int v) {
    int32(20, v);
    return this;
  }

  public int refCmdSn() {
    return int32(32);
  }

  public TaskMgmtRequestPdu refCmdSn(int v) {
    int32(32, v);
    return this;
  }

  public int expDataSn() {
    return int32(36);
  }
}
