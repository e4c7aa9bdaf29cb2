package io.spindle.scsi;

/** SAM-5 §7.12 service responses of a task management function. */
public enum TaskManagementResponse {
  FUNCTION_COMPLETE, FUNCTION_SUCCEEDED, FUNCTION_REJECTED, INCORRECT_LOGICAL_UNIT_NUMBER, TASK_DOES_NOT_EXIST
}
