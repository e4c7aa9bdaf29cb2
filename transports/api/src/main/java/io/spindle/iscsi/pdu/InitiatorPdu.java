package io.spindle.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** A PDU sent by the initiator: CmdSN at bytes 24-27 and ExpStatSN at 28-31 (RFC 7143 §11.2.1). */
public abstract class InitiatorPdu extends Pdu {

  protected InitiatorPdu(byte[] bhs, ByteBuf ahs, ByteBuf data) {
    super(bhs, ahs, data);
  }

  protected InitiatorPdu(Opcode opcode) {
    super(opcode);
  }

  public final int cmdSn() {
    return int32(24);
  }

  public final InitiatorPdu cmdSn(int v) {
    int32(24, v);
    return this;
  }

  public final int expStatSn() {
    return int32(28);
  }

  public final InitiatorPdu expStatSn(int v) {
    int32(28, v);
    return this;
  }

  /** Target Transfer Tag, bytes 20-23, for the opcodes that carry one. */
  public final int ttt() {
    return int32(20);
  }

  public final InitiatorPdu ttt(int v) {
    int32(20, v);
    return this;
  }
}
