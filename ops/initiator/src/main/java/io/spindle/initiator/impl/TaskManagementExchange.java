package io.spindle.initiator.impl;

import io.spindle.initiator.TaskAbortedException;
import io.spindle.iscsi.pdu.TargetPdu;
import io.spindle.iscsi.pdu.TaskMgmtRequestPdu;
import io.spindle.iscsi.pdu.TaskMgmtResponsePdu;
import java.util.ArrayList;
import java.util.List;

/** A task management function request (RFC 7143 §11.5), TASK REASSIGN included; completes with the response code. */
final class TaskManagementExchange extends Exchange<Integer> {
  final int function;
  final long lun;
  final int refItt;
  int refCmdSn;
  int expDataSn;

  TaskManagementExchange(SessionImpl session, int itt, int function, long lun, int refItt) {
    super(session, itt);
    this.function = function;
    this.lun = lun;
    this.refItt = refItt;
  }

  @Override
  boolean ordered() {
    return false;
  }

  @Override
  void start(int sn) {
    TaskMgmtRequestPdu tmf = new TaskMgmtRequestPdu();
    tmf.immediate(true);
    tmf.function(function).lun(lun).itt(itt);
    boolean referenced = function == TaskMgmtRequestPdu.ABORT_TASK || function == TaskMgmtRequestPdu.TASK_REASSIGN;
    tmf.referencedTaskTag(referenced ? refItt : SessionImpl.RESERVED_TAG);
    Exchange<?> ref = session.active.get(refItt);
    if (function == TaskMgmtRequestPdu.TASK_REASSIGN) {
      // RFC 7143 §11.5.4, §11.5.6: RefCmdSN and ExpDataSN (the first Data-In not received) of the task.
      tmf.refCmdSn(refCmdSn);
      tmf.bhs().setInt(36, expDataSn);
      // iSER (RFC 7145 §7.3): STags are per connection, so the TMF's iSER header advertises the
      // task's buffers registered on this one; the target reads every byte it lacks again.
      if (ref instanceof CommandExchange c) link.connection.prepareTask(c.task, 0);
    } else {
      // RFC 7143 §11.5.4: RefCmdSN is the CmdSN of the referenced task (ABORT TASK).
      tmf.refCmdSn(function == TaskMgmtRequestPdu.ABORT_TASK && ref instanceof CommandExchange c ? c.task.cmdSn : sn);
    }
    tmf.cmdSn(sn).expStatSn(link.expStatSn);
    link.write(tmf);
  }

  @Override
  void onPdu(TargetPdu pdu) {
    if (!(pdu instanceof TaskMgmtResponsePdu r)) {
      throw new ScsiTask.ProtocolViolation("unexpected " + pdu + " for a task management request");
    }
    if (r.response() == TaskMgmtResponsePdu.FUNCTION_COMPLETE) abortLocally();
    succeed(r.response());
  }

  /** SAM-5 §7: the tasks the function ended get no SCSI Response; their futures fail here. */
  private void abortLocally() {
    List<CommandExchange> affected = new ArrayList<>();
    for (Exchange<?> e : session.active.values()) {
      if (!(e instanceof CommandExchange c)) continue;
      boolean hit;
      switch (function) {
        case TaskMgmtRequestPdu.ABORT_TASK:
          hit = c.itt == refItt;
          break;
        case TaskMgmtRequestPdu.ABORT_TASK_SET:
        case TaskMgmtRequestPdu.CLEAR_TASK_SET:
        case TaskMgmtRequestPdu.LOGICAL_UNIT_RESET:
          hit = c.task.lun == lun;
          break;
        case TaskMgmtRequestPdu.TARGET_WARM_RESET:
        case TaskMgmtRequestPdu.TARGET_COLD_RESET:
          hit = true;
          break;
        default:
          hit = false;
      }
      if (hit) affected.add(c);
    }
    for (CommandExchange c : affected) {
      c.fail(new TaskAbortedException(c + " ended by task management function " + function));
    }
  }

  @Override
  public String toString() {
    return "task management function " + function + " ITT 0x" + Integer.toHexString(itt);
  }
}
