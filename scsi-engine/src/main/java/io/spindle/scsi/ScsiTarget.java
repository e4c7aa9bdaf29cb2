package io.spindle.scsi;

import io.vertx.core.Future;
import java.util.function.Consumer;

/**
 * A SCSI target device: the logical units one iSCSI target exposes, with their task sets.
 * All methods may be called from any event-loop context; results complete on the caller's
 * context. The engine never blocks the caller: storage I/O runs on the engine's worker pool.
 */
public interface ScsiTarget {

  String name();

  /**
   * Executes a command (SAM-5 §5.1). The future never fails for SCSI reasons: every SCSI
   * outcome is a {@link ScsiResult} (CHECK CONDITION with sense, RESERVATION CONFLICT, ...).
   * It fails only when the command could not be carried out at all (engine closed).
   */
  Future<ScsiResult> execute(ScsiCommand command);

  /**
   * Executes a command (SAM-5 §5.1) and hands its outcome to {@code done} on the command's
   * context: the transport's per-command path, without a future (a promise and its listener per
   * command showed up as about 10% of the event loop's samples in the 4 KiB profile). {@code done}
   * is called exactly once; a command the engine could not carry out at all (engine closed) gets
   * {@link ScsiResult#internalTargetFailure()}. The receiver owns the result's buffers.
   */
  void execute(ScsiCommand command, Consumer<ScsiResult> done);

  /**
   * A task management function (SAM-5 §7). {@code referencedTaskTag} is used by ABORT TASK and
   * QUERY TASK only. Aborted tasks complete their execute future with {@link ScsiResult#aborted()}.
   * Completes after every affected task has ended (SAM-5 §7.2).
   */
  Future<TaskManagementResponse> taskManagement(Nexus nexus, TaskManagementFunction function, long lun,
      long referencedTaskTag);

  /** The I_T nexus is gone (session ended): drop its tasks, SPC-2 reservations, and set UAs (SPC-4 §6.1). */
  void nexusLost(Nexus nexus);

  /** LUN numbers this target exposes, ascending. */
  java.util.List<Integer> lunNumbers();
}
