package io.spindle.scsi.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.spindle.scsi.DataOutFailedException;
import io.spindle.scsi.Nexus;
import io.spindle.scsi.ScsiCommand;
import io.spindle.scsi.ScsiResult;
import io.spindle.scsi.ScsiStatus;
import io.spindle.scsi.ScsiTarget;
import io.spindle.scsi.TaskAttribute;
import io.spindle.scsi.TaskManagementFunction;
import io.spindle.scsi.TaskManagementResponse;
import io.spindle.scsi.spi.store.MiscompareException;
import io.spindle.scsi.spi.store.SpaceExhaustedException;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A SCSI target device: LUN decoding, the per-LU task sets, unit attentions and reservation
 * checks in the order SAM-5 §5.14 / SPC-2 give them, dispatch through the {@link OpcodeTable},
 * and task management (SAM-5 §7).
 */
public final class ScsiTargetImpl implements ScsiTarget {

  private static final Logger log = LoggerFactory.getLogger(ScsiTargetImpl.class);

  private final String name;
  private final Map<Integer, LogicalUnitImpl> luns;
  /**
   * The same LUs indexed by LUN, for the per-command lookup (a TreeMap lookup was 2 % of the
   * event loop's samples at QD1); null when the highest LUN is too large for an array.
   */
  private final LogicalUnitImpl[] byLun;
  private final ScsiEngineImpl engine;

  ScsiTargetImpl(ScsiEngineImpl engine, String name, Map<Integer, LogicalUnitImpl> luns) {
    this.engine = engine;
    this.name = name;
    this.luns = Collections.unmodifiableMap(new TreeMap<>(luns));
    int max = luns.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1);
    if (max < 16384) {
      byLun = new LogicalUnitImpl[max + 1];
      luns.forEach((n, lu) -> byLun[n] = lu);
    } else {
      byLun = null;
    }
  }

  /** The LU at {@code lun}, or null. */
  private LogicalUnitImpl lu(int lun) {
    if (lun < 0) return null;
    if (byLun != null) return lun < byLun.length ? byLun[lun] : null;
    return luns.get(lun);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public List<Integer> lunNumbers() {
    return new ArrayList<>(luns.keySet());
  }

  public LogicalUnitImpl logicalUnit(int lun) {
    return lu(lun);
  }

  @Override
  public Future<ScsiResult> execute(ScsiCommand command) {
    if (engine.closed()) return Future.failedFuture("SCSI engine closed");
    Promise<ScsiResult> p = Promise.promise();
    execute(command, p::complete);
    return p.future();
  }

  @Override
  public void execute(ScsiCommand command, Consumer<ScsiResult> done) {
    if (engine.closed()) {
      onContext(command.context(), () -> done.accept(ScsiResult.internalTargetFailure()));
      return;
    }
    int lun = LunAddressing.decode(command.lun());
    Task task = new Task(command, lu(lun), this, done);
    Context ctx = command.context();
    if (Vertx.currentContext() == ctx) {
      admit(task);
    } else {
      ctx.runOnContext(v -> admit(task));
    }
  }

  private static void onContext(Context ctx, Runnable r) {
    if (Vertx.currentContext() == ctx) r.run();
    else ctx.runOnContext(v -> r.run());
  }

  private void admit(Task task) {
    LogicalUnitImpl lu = task.lu();
    CommandDescriptor d = OpcodeTable.find(task.opcode(), task.cdb());
    if (lu == null) {
      // SPC-4 §4.6.1 / SAM-5 §5.9.3: an incorrect LUN still answers INQUIRY, REPORT LUNS, REQUEST SENSE.
      if (d != null && d.has(CommandDescriptor.NO_LU) && OpcodeTable.serviceActionKnown(task.opcode(), task.cdb())) {
        run(task, d);
      } else {
        finish(task, checkCondition(task, CheckCondition.of(SenseData.ILLEGAL_REQUEST, 0x25, 0x00)));
      }
      return;
    }
    if (lu.taskSet().add(task)) start(task, d);
    // else: started by finish() of the task that blocks it.
  }

  private void start(Task task, CommandDescriptor d) {
    if (task.aborted()) {
      finish(task, ScsiResult.abortedTask());
      return;
    }
    LogicalUnitImpl lu = task.lu();
    try {
      if (task.attribute() == TaskAttribute.ACA) {
        // SAM-5 §8.6.5 (NACA unsupported, so no ACA condition can exist): a command with the
        // ACA attribute outside an ACA condition is rejected as an invalid message.
        throw CheckCondition.of(SenseData.ILLEGAL_REQUEST, 0x49, 0x00);
      }
      boolean uaExempt = d != null && d.has(CommandDescriptor.UA_EXEMPT);
      UnitAttention ua = lu.unitAttention(task.nexus(), !uaExempt);
      if (ua != null && !uaExempt) throw ua.toCheckCondition();
      // SBC-4 4.11.2: while a sanitize runs only the commands that need no LU state answer.
      if (lu.sanitizing() && (d == null || !d.has(CommandDescriptor.NO_LU))) {
        throw CheckCondition.of(SenseData.NOT_READY, 0x04, 0x1B); // SANITIZE IN PROGRESS
      }
      // SBC-4 4.17: medium access with a removable medium ejected → NOT READY, MEDIUM NOT PRESENT.
      if (d != null && d.has(CommandDescriptor.NEEDS_MEDIUM) && !lu.mediumPresent()) {
        throw CheckCondition.of(SenseData.NOT_READY, 0x3A, 0x00);
      }
      if (d != null && !d.has(CommandDescriptor.RESERVATION_EXEMPT) && lu.reservedByOther(task.nexus())) {
        finish(task, new ScsiResult(ScsiStatus.RESERVATION_CONFLICT, null, null, 0, false));
        return;
      }
      if (d != null && (d.has(CommandDescriptor.MEDIUM_READ) || d.has(CommandDescriptor.MEDIUM_WRITE))
          && lu.persistentReservations().reserved()
          && lu.persistentReservations().conflicts(LogicalUnitImpl.prNexus(task.nexus()),
              d.has(CommandDescriptor.MEDIUM_WRITE))) {
        finish(task, new ScsiResult(ScsiStatus.RESERVATION_CONFLICT, null, null, 0, false));
        return;
      }
    } catch (CheckCondition c) {
      finish(task, checkCondition(task, c));
      return;
    }
    run(task, d);
  }

  private void run(Task task, CommandDescriptor d) {
    Future<ScsiResult> f;
    try {
      if (d == null) throw OpcodeTable.unsupported(task.opcode(), task.cdb());
      checkControlByte(task, d);
      f = d.handler().handle(task);
    } catch (CheckCondition c) {
      finish(task, checkCondition(task, c));
      return;
    } catch (RuntimeException e) {
      finish(task, failure(task, e));
      return;
    }
    if (f.isComplete()) {
      // Inline stores (null, memory) complete at once: finish without a listener.
      finish(task, f.succeeded() ? f.result() : failure(task, f.cause()));
    } else {
      f.onComplete(ar -> finish(task, ar.succeeded() ? ar.result() : failure(task, ar.cause())));
    }
  }

  /** SAM-5 §5.2: NACA and LINK in the CONTROL byte are not supported. */
  private static void checkControlByte(Task task, CommandDescriptor d) {
    int i = d.cdbLength() - 1;
    if (i < 1 || i >= task.cdbLength()) return;
    Cdb.reserved(task.cdb(), i, 0x05);
  }

  private ScsiResult failure(Task task, Throwable cause) {
    if (cause instanceof CheckCondition c) return checkCondition(task, c);
    if (cause instanceof MiscompareException m) return checkCondition(task, CheckCondition.miscompare(m.offset()));
    if (cause instanceof SpaceExhaustedException) {
      log.warn("{}: {} failed: {}", name, OpcodeTable.name(task.opcode()), cause.getMessage());
      // SBC-4 4.7.3.6.3: a thin LU out of space → SPACE ALLOCATION FAILED WRITE PROTECT.
      return checkCondition(task, CheckCondition.of(SenseData.DATA_PROTECT, 0x27, 0x07));
    }
    if (cause instanceof IOException) {
      log.warn("{}: I/O error on {}: {}", name, OpcodeTable.name(task.opcode()), cause.toString());
      boolean write = task.command().hasDataOut();
      // SBC-4 4.18: WRITE ERROR or UNRECOVERED READ ERROR.
      return checkCondition(task, write ? CheckCondition.of(SenseData.MEDIUM_ERROR, 0x0C, 0x00)
          : CheckCondition.of(SenseData.MEDIUM_ERROR, 0x11, 0x00));
    }
    if (cause instanceof DataOutFailedException d) {
      // The transport has logged the cause with its peer; the command ends as a transport failure.
      log.debug("{}: {} ended: {}", name, OpcodeTable.name(task.opcode()), d.getMessage());
      return checkCondition(task, CheckCondition.of(SenseData.ABORTED_COMMAND, d.additionalSenseCode(),
          d.additionalSenseCodeQualifier()));
    }
    log.error("{}: command {} failed", name, OpcodeTable.name(task.opcode()), cause);
    // SPC-4 table: INTERNAL TARGET FAILURE.
    return checkCondition(task, CheckCondition.of(0x4, 0x44, 0x00));
  }

  static ScsiResult checkCondition(Task task, CheckCondition c) {
    boolean descriptor = task.lu() != null && task.lu().modePages().dSense();
    ByteBuf sense = SenseData.build(c, descriptor);
    return new ScsiResult(ScsiStatus.CHECK_CONDITION, sense, null, task.edtl(), false);
  }

  private void finish(Task task, ScsiResult r) {
    if (task.aborted() && !r.aborted()) {
      r.release();
      r = ScsiResult.abortedTask();
    }
    if (r.status() != ScsiStatus.GOOD && log.isDebugEnabled()) {
      // SPINDLE_LOG_LEVEL=debug: why a command did not succeed, named by nexus and task tag.
      log.debug("{} tag=0x{} {}: status 0x{} sense {}", task.nexus().initiatorPort(), Long.toHexString(task.tag()),
          OpcodeTable.name(task.opcode()), Integer.toHexString(r.status()),
          r.sense() == null ? "none" : ByteBufUtil.hexDump(r.sense()));
    }
    task.complete(r);
    LogicalUnitImpl lu = task.lu();
    if (lu != null) startReady(lu.taskSet().remove(task));
  }

  private void startReady(List<Task> ready) {
    // Nearly always empty (no ORDERED task waiting): skip the iterator.
    if (ready.isEmpty()) return;
    for (Task t : ready) {
      CommandDescriptor d = OpcodeTable.find(t.opcode(), t.cdb());
      onContext(t.context(), () -> start(t, d));
    }
  }

  /** REQUEST SENSE: takes the oldest pending unit attention of the task's nexus (SPC-4 §6.39). */
  public CheckCondition takeUnitAttention(Task task) {
    UnitAttention ua = task.lu().unitAttention(task.nexus(), true);
    return ua == null ? null : ua.toCheckCondition();
  }

  // ---- Task management (SAM-5 §7) ----

  @Override
  public Future<TaskManagementResponse> taskManagement(Nexus nexus, TaskManagementFunction function, long lun,
      long referencedTaskTag) {
    Context caller = Vertx.currentContext();
    Future<TaskManagementResponse> f = taskManagement0(nexus, function, lun, referencedTaskTag);
    if (caller == null) return f;
    Promise<TaskManagementResponse> p = Promise.promise();
    f.onComplete(ar -> onContext(caller, () -> p.handle(ar)));
    return p.future();
  }

  private Future<TaskManagementResponse> taskManagement0(Nexus nexus, TaskManagementFunction function, long lunField,
      long tag) {
    String port = nexus.initiatorPort();
    switch (function) {
      case TARGET_RESET: {
        List<Future<?>> all = new ArrayList<>();
        for (LogicalUnitImpl lu : luns.values()) all.add(reset(lu));
        return Future.join(all).map(TaskManagementResponse.FUNCTION_COMPLETE);
      }
      case I_T_NEXUS_RESET: {
        List<Future<?>> all = new ArrayList<>();
        for (LogicalUnitImpl lu : luns.values()) {
          all.add(abort(lu, t -> t.nexus().initiatorPort().equals(port)));
          lu.nexusLost(nexus);
        }
        return Future.join(all).map(TaskManagementResponse.FUNCTION_COMPLETE);
      }
      default:
        break;
    }
    int lun = LunAddressing.decode(lunField);
    LogicalUnitImpl lu = lu(lun);
    if (lu == null) return Future.succeededFuture(TaskManagementResponse.INCORRECT_LOGICAL_UNIT_NUMBER);
    switch (function) {
      case ABORT_TASK: {
        Task t = lu.taskSet().find(port, tag);
        // SAM-5 §7.2: FUNCTION COMPLETE whether or not the task existed.
        if (t == null) return Future.succeededFuture(TaskManagementResponse.FUNCTION_COMPLETE);
        return abort(lu, x -> x == t).map(TaskManagementResponse.FUNCTION_COMPLETE);
      }
      case ABORT_TASK_SET:
        return abort(lu, t -> t.nexus().initiatorPort().equals(port)).map(TaskManagementResponse.FUNCTION_COMPLETE);
      case CLEAR_TASK_SET:
        return abort(lu, t -> true).map(TaskManagementResponse.FUNCTION_COMPLETE);
      case LOGICAL_UNIT_RESET:
        return reset(lu).map(TaskManagementResponse.FUNCTION_COMPLETE);
      case QUERY_TASK:
        return Future.succeededFuture(lu.taskSet().find(port, tag) != null
            ? TaskManagementResponse.FUNCTION_SUCCEEDED : TaskManagementResponse.FUNCTION_COMPLETE);
      case CLEAR_ACA:
        // NACA is not supported (INQUIRY NORMACA=0), so there is never an ACA to clear.
        return Future.succeededFuture(TaskManagementResponse.FUNCTION_REJECTED);
      default:
        return Future.succeededFuture(TaskManagementResponse.FUNCTION_REJECTED);
    }
  }

  /** SAM-5 §7.6 LOGICAL UNIT RESET: abort every task, clear reservations, unit attention for all. */
  private Future<?> reset(LogicalUnitImpl lu) {
    Future<?> f = abort(lu, t -> true);
    lu.resetState(UnitAttention.BUS_DEVICE_RESET);
    return f;
  }

  /** Aborts matching tasks; completes when every one of them has ended. */
  private Future<?> abort(LogicalUnitImpl lu, Predicate<Task> which) {
    TaskSet.Aborted a = lu.taskSet().abort(which);
    for (Task t : a.waiting()) t.complete(ScsiResult.abortedTask());
    startReady(a.ready());
    List<Future<?>> ends = new ArrayList<>();
    for (Task t : a.all()) ends.add(t.ended());
    return Future.join(ends);
  }

  @Override
  public void nexusLost(Nexus nexus) {
    String port = nexus.initiatorPort();
    for (LogicalUnitImpl lu : luns.values()) {
      abort(lu, t -> t.nexus().initiatorPort().equals(port));
      lu.nexusLost(nexus);
    }
  }
}
