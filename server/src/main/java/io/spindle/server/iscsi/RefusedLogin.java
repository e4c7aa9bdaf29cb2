package io.spindle.server.iscsi;

import io.spindle.iscsi.datamover.DatamoverConnection;
import io.spindle.iscsi.datamover.DatamoverListener;
import io.spindle.iscsi.pdu.LoginRequestPdu;
import io.spindle.iscsi.pdu.LoginResponsePdu;
import io.spindle.iscsi.pdu.Pdu;
import io.spindle.iscsi.text.TextKeys;

/**
 * A connection over the login caps (issue 21): it is not logged in, but a Login Request that
 * arrives within {@link #GRACE_MILLIS} is answered with 0x0302 Out of Resources (RFC 7143
 * §11.13.5) before the connection closes, so the initiator learns why and may retry later instead
 * of seeing a bare close. Nothing else is read or kept; anything else, or silence, just closes.
 * How many may wait at once is bounded by the service ({@code login.maxTotal} of them).
 *
 * <p>A Login Request whose InitiatorName a target's ACL names is not refused while the share of
 * login slots kept for such initiators ({@code login.reservedForAclPercent}) has room: the
 * connection goes on as an ordinary login, so a flood of unknown peers cannot keep them out.
 */
final class RefusedLogin implements DatamoverListener {

  /** Refused connections of one source address that may wait for their Login Request at once. */
  static final int PER_ADDRESS = 2;

  /** How long a refused connection may take to send its Login Request. */
  static final long GRACE_MILLIS = 2000;

  private final DatamoverConnection dm;
  private final Runnable gone;
  private long timer;
  private boolean done;

  private final IscsiService service;

  RefusedLogin(IscsiService service, DatamoverConnection dm, Runnable gone) {
    this.service = service;
    this.dm = dm;
    this.gone = gone;
    dm.listener(this);
    timer = service.vertx.setTimer(GRACE_MILLIS, id -> end());
  }

  /** The InitiatorName of a complete first login text, or null. */
  private static String initiatorName(LoginRequestPdu req) {
    if (req.continueBit()) return null;
    try {
      for (TextKeys.Pair p : TextKeys.parse(req.data())) {
        if (p.key().equals("InitiatorName")) return p.value();
      }
    } catch (TextKeys.MalformedTextException e) {
      return null;
    }
    return null;
  }

  @Override
  public void controlNotify(Pdu pdu) {
    try {
      if (done) return;
      if (pdu instanceof LoginRequestPdu req) {
        IscsiConnection admitted = service.admitReserved(dm, initiatorName(req));
        if (admitted != null) {
          // The connection is the login's now (it took the listener); this one steps aside.
          connectionTerminateNotify("admitted on a reserved slot");
          admitted.controlNotify(req.retain());
          return;
        }
        LoginResponsePdu r = new LoginResponsePdu();
        r.versions(0, 0).isid(req.isid()).tsih(0).itt(req.itt());
        r.statSn(0).expCmdSn(req.cmdSn()).maxCmdSn(req.cmdSn());
        r.status(LoginException.OUT_OF_RESOURCES >> 8, LoginException.OUT_OF_RESOURCES & 0xff);
        done = true;
        dm.sendControl(r).onComplete(x -> end());
      } else {
        end();
      }
    } finally {
      pdu.release();
    }
  }

  private void end() {
    done = true;
    dm.terminate();
  }

  @Override
  public void dataCompletionNotify(int itt, int r2tSn) {
  }

  @Override
  public void dataAckNotify(int itt, int dataSn) {
  }

  @Override
  public void pduDiscarded(String reason) {
  }

  @Override
  public void connectionTerminateNotify(String reason) {
    if (timer < 0) return;
    dm.context().owner().cancelTimer(timer);
    timer = -1;
    done = true;
    gone.run();
  }
}
