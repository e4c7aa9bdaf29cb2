package io.spindle.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** A PDU sent by the target: StatSN, ExpCmdSN and MaxCmdSN at bytes 24, 28 and 32 (RFC 7143 §11.2.1). */
public abstract class TargetPdu extends Pdu {

  protected TargetPdu(byte[] bhs, ByteBuf ahs, ByteBuf data) {
    super(bhs, ahs, data);
  }

  protected TargetPdu(Opcode opcode) {
    super(opcode);
  }

  public final int statSn() {
    return int32(24);
  }

  public final TargetPdu statSn(int v) {
    int32(24, v);
    return this;
  }

  public final int expCmdSn() {
    return int32(28);
  }

  public final TargetPdu expCmdSn(int v) {
    int32(28, v);
    return this;
  }

  public final int maxCmdSn() {
    return int32(32);
  }

  public final TargetPdu maxCmdSn(int v) {
    int32(32, v);
    return this;
  }

  /** Target Transfer Tag, bytes 20-23, for the opcodes that carry one. */
  public final int ttt() {
    return int32(20);
  }

  public final TargetPdu ttt(int v) {
    int32(20, v);
    return this;
  }
}
