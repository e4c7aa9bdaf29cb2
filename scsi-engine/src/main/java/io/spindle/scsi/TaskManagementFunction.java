package io.spindle.scsi;

/** SAM-5 §7 task management functions the engine carries out. */
public enum TaskManagementFunction {
  ABORT_TASK, ABORT_TASK_SET, CLEAR_ACA, CLEAR_TASK_SET, LOGICAL_UNIT_RESET, I_T_NEXUS_RESET,
  /** Target reset: every logical unit of the target is reset (iSCSI TARGET WARM/COLD RESET). */
  TARGET_RESET, QUERY_TASK
}
