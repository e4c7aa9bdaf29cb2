package io.spindle.initiator.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.spindle.initiator.IscsiInitiatorException;
import io.spindle.iscsi.pdu.TargetPdu;
import io.spindle.iscsi.pdu.TextRequestPdu;
import io.spindle.iscsi.pdu.TextResponsePdu;
import io.spindle.iscsi.text.TextKeys;
import io.spindle.iscsi.text.TextKeys.Pair;
import java.util.List;

/** A Text exchange (RFC 7143 §11.10, §11.11), following the target's continuations. */
final class TextExchange extends Exchange<List<Pair>> {
  final List<Pair> request;
  final CompositeByteBuf answer = Unpooled.compositeBuffer(Integer.MAX_VALUE);

  TextExchange(SessionImpl session, int itt, List<Pair> request) {
    super(session, itt);
    this.request = List.copyOf(request);
  }

  @Override
  boolean ordered() {
    return true;
  }

  @Override
  void start(int sn) {
    send(sn, SessionImpl.RESERVED_TAG, TextKeys.encode(request));
  }

  private void send(int sn, int ttt, ByteBuf data) {
    TextRequestPdu t = new TextRequestPdu();
    t.finalBit(true);
    t.itt(itt);
    t.ttt(ttt).cmdSn(sn).expStatSn(link.expStatSn);
    t.data(data);
    link.write(t);
  }

  @Override
  void onPdu(TargetPdu pdu) {
    if (!(pdu instanceof TextResponsePdu r)) throw new ScsiTask.ProtocolViolation("unexpected " + pdu + " for Text");
    answer.addComponent(true, r.data().retainedSlice());
    if (r.continueBit() || !r.finalBit()) {
      // RFC 7143 §11.11: an empty Text Request with the target's TTT asks for the rest.
      // It takes the next CmdSN at once; a text exchange is never pipelined behind a closed window.
      send(session.takeCmdSn(), r.ttt(), Unpooled.EMPTY_BUFFER);
      return;
    }
    List<Pair> pairs;
    try {
      pairs = TextKeys.parse(answer);
    } catch (TextKeys.MalformedTextException e) {
      fail(new IscsiInitiatorException("malformed Text Response: " + e.getMessage()));
      return;
    }
    release();
    succeed(pairs);
  }

  @Override
  void release() {
    if (answer.refCnt() > 0) answer.release();
  }

  @Override
  public String toString() {
    return "Text ITT 0x" + Integer.toHexString(itt);
  }
}
