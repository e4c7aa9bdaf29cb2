package io.spindle.server.iscsi;

import io.spindle.iscsi.datamover.DatamoverConnection;
import io.spindle.iscsi.datamover.DatamoverListener;
import io.spindle.iscsi.pdu.LoginRequestPdu;
import io.spindle.iscsi.pdu.LoginResponsePdu;
import io.spindle.iscsi.pdu.Pdu;
import io.vertx.core.Vertx;

/**
 * A connection over the login caps (issue 21): it is not logged in, but a Login Request that
 * arrives within {@link #GRACE_MILLIS} is answered with 0x0302 Out of Resources (RFC 7143
 * §11.13.5) before the connection closes, so the initiator learns why and may retry later instead
 * of seeing a bare close. Nothing else is read or kept; anything else, or silence, just closes.
 * How many may wait at once is bounded by the service ({@code login.maxTotal} of them).
 */
final class RefusedLogin implements DatamoverListener {

  /** How long a refused connection may take to send its Login Request. */
  static final long GRACE_MILLIS = 2000;

  private final DatamoverConnection dm;
  private final Runnable gone;
  private long timer;
  private boolean done;

  RefusedLogin(Vertx vertx, DatamoverConnection dm, Runnable gone) {
    this.dm = dm;
    this.gone = gone;
    dm.listener(this);
    timer = vertx.setTimer(GRACE_MILLIS, id -> end());
  }

  @Override
  public void controlNotify(Pdu pdu) {
    try {
      if (done) return;
      if (pdu instanceof LoginRequestPdu req) {
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
