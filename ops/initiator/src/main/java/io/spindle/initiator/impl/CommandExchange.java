package io.spindle.initiator.impl;

import io.spindle.initiator.ScsiResponse;
import io.spindle.iscsi.pdu.DataInPdu;
import io.spindle.iscsi.pdu.Pdu;
import io.spindle.iscsi.pdu.R2tPdu;
import io.spindle.iscsi.pdu.ScsiResponsePdu;
import io.spindle.iscsi.pdu.TargetPdu;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A SCSI command (RFC 7143 §11.3): the session's side of one {@link ScsiTask} — sending it, a
 * retry with the same ITT and CmdSN (§7.2.1), and its Data-In, R2T and SCSI Response.
 */
final class CommandExchange extends Exchange<ScsiResponse> {

  private static final Logger log = LoggerFactory.getLogger(SessionImpl.class);

  final ScsiTask task;
  /** When it was last retried for a CmdSN gap (System.nanoTime), 0 if never. */
  long lastRetry;
  /** The connection recovery that moved it, until it completes (for that recovery's log line). */
  SessionRecovery.Failover failover;

  CommandExchange(SessionImpl session, ScsiTask task) {
    super(session, task.itt);
    this.task = task;
  }

  @Override
  boolean ordered() {
    return true;
  }

  @Override
  void start(int sn) {
    send(task.start(sn, link.expStatSn, link.params));
  }

  /** RFC 7143 §7.2.1: a retry is the same command (ITT, CmdSN, data) on the connection it has allegiance to. */
  void retry() {
    task.reset();
    send(task.start(task.cmdSn, link.expStatSn, link.params));
  }

  private void send(List<Pdu> pdus) {
    // iSER (RFC 7145 §9.2): the connection registers the task's buffers for its STags first.
    link.connection.prepareTask(task, task.unsolicitedLength());
    link.sendAll(pdus);
  }

  @Override
  void onPdu(TargetPdu pdu) {
    List<Pdu> out = new ArrayList<>();
    ScsiResponse r;
    try {
      if (pdu instanceof DataInPdu d) {
        r = task.onDataIn(d, out);
      } else if (pdu instanceof ScsiResponsePdu s) {
        r = task.onResponse(s, out);
      } else if (pdu instanceof R2tPdu r2t) {
        task.onR2t(r2t, link.expStatSn, link.params, out);
        r = null;
      } else {
        throw new ScsiTask.ProtocolViolation("unexpected " + pdu + " for a SCSI command");
      }
    } finally {
      link.sendAll(out);
    }
    if (r == null) return;
    if (isCrcError(r) && task.attempts < SessionImpl.MAX_ATTEMPTS) {
      // RFC 7143 §7.8: a task the target ended for a digest error is sent again as a new task.
      log.info("{}: {} ended with a protocol service CRC error; sending it again", session, this);
      r.close();
      session.reissue(this);
      return;
    }
    task.release();
    session.done(this);
    session.recovery.completed(this);
    if (!promise.tryComplete(r)) r.close();
  }

  /** SPC-5: CHECK CONDITION, ABORTED COMMAND, 47h/05h PROTOCOL SERVICE CRC ERROR (RFC 7143 §7.1.4.1). */
  private static boolean isCrcError(ScsiResponse r) {
    return r.status() == ScsiResponse.CHECK_CONDITION && r.senseKey() == 0x0b && r.asc() == 0x47 && r.ascq() == 0x05;
  }

  @Override
  void release() {
    if (link != null) link.connection.taskDone(task.itt);
    task.release();
  }

  @Override
  public String toString() {
    return "SCSI command ITT 0x" + Integer.toHexString(itt);
  }
}
