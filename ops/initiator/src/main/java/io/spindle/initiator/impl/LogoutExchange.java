package io.spindle.initiator.impl;

import io.spindle.initiator.IscsiInitiatorException;
import io.spindle.iscsi.pdu.LogoutRequestPdu;
import io.spindle.iscsi.pdu.LogoutResponsePdu;
import io.spindle.iscsi.pdu.TargetPdu;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.List;

/** Logout (RFC 7143 §11.14): of the session, of one connection, or of a failed CID for recovery. */
final class LogoutExchange extends Exchange<Void> {
  final int reason;
  final int cid;

  LogoutExchange(SessionImpl session, int itt, int reason, int cid, Link on) {
    super(session, itt);
    this.reason = reason;
    this.cid = cid;
    this.link = on;
  }

  @Override
  boolean ordered() {
    return false;
  }

  @Override
  void start(int sn) {
    LogoutRequestPdu req = new LogoutRequestPdu();
    req.immediate(true);
    req.reasonCode(reason).itt(itt);
    if (reason != LogoutRequestPdu.CLOSE_SESSION) req.cid(cid);
    req.cmdSn(sn).expStatSn(link.expStatSn);
    link.write(req);
  }

  @Override
  void onPdu(TargetPdu pdu) {
    if (!(pdu instanceof LogoutResponsePdu r)) {
      throw new ScsiTask.ProtocolViolation("unexpected " + pdu + " for Logout");
    }
    session.done(this);
    boolean ok = r.response() == LogoutResponsePdu.CLOSED
        || (reason == LogoutRequestPdu.REMOVE_FOR_RECOVERY && r.response() == LogoutResponsePdu.CID_NOT_FOUND);
    if (!ok) {
      promise.tryFail(new IscsiInitiatorException("logout refused, response " + r.response()));
      return;
    }
    if (reason == LogoutRequestPdu.REMOVE_FOR_RECOVERY) {
      promise.tryComplete();
      return;
    }
    // RFC 7143 §11.15: after the response the initiator closes the connection.
    link.loggedOut = true;
    if (reason == LogoutRequestPdu.CLOSE_SESSION) {
      List<Future<Void>> all = new ArrayList<>();
      for (Link l : new ArrayList<>(session.links)) all.add(l.connection.close());
      Future.join(all).onComplete(ar -> promise.tryComplete());
    } else {
      link.connection.close().onComplete(ar -> promise.tryComplete());
    }
  }

  @Override
  public String toString() {
    return "Logout (reason " + reason + ") ITT 0x" + Integer.toHexString(itt);
  }
}
