package io.spindle.initiator;

/** The command was aborted by a task management function before the target answered it. */
public final class TaskAbortedException extends IscsiInitiatorException {
  private static final long serialVersionUID = 1L;

  public TaskAbortedException(String message) {
    super(message);
  }
}
