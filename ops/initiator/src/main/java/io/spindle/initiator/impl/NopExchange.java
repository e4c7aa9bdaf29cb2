package io.spindle.initiator.impl;

import io.spindle.iscsi.pdu.NopInPdu;
import io.spindle.iscsi.pdu.NopOutPdu;
import io.spindle.iscsi.pdu.TargetPdu;

/** NOP-Out ping (RFC 7143 §11.18), answered by a NOP-In with the same ITT (§11.19). */
final class NopExchange extends Exchange<Void> {

  NopExchange(SessionImpl session, int itt) {
    super(session, itt);
  }

  @Override
  boolean ordered() {
    return false;
  }

  @Override
  void start(int sn) {
    NopOutPdu nop = new NopOutPdu();
    nop.immediate(true);
    nop.itt(itt);
    nop.ttt(SessionImpl.RESERVED_TAG).cmdSn(sn).expStatSn(link.expStatSn);
    link.write(nop);
  }

  @Override
  void onPdu(TargetPdu pdu) {
    if (!(pdu instanceof NopInPdu)) throw new ScsiTask.ProtocolViolation("unexpected " + pdu + " for a NOP-Out");
    succeed(null);
  }

  @Override
  public String toString() {
    return "NOP-Out ITT 0x" + Integer.toHexString(itt);
  }
}
