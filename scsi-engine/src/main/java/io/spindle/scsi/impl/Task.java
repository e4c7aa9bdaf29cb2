package io.spindle.scsi.impl;

import io.netty.buffer.ByteBuf;
import io.spindle.scsi.Nexus;
import io.spindle.scsi.ScsiCommand;
import io.spindle.scsi.ScsiResult;
import io.spindle.scsi.TaskAttribute;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

/**
 * One command in a logical unit's task set (SAM-5 §8): the command, its decoded CDB, and the
 * promise its {@code execute} future follows. Handlers run on the command's context; blocking
 * storage work goes through {@link #blocking(Callable)}.
 */
public final class Task {

  /** Minimum CDB copy length so fixed-offset field reads never run off a short CDB. */
  private static final int MIN_CDB = 16;

  private final ScsiCommand command;
  private final byte[] cdb;
  private final int cdbLength;
  private final LogicalUnitImpl lu;
  private final ScsiTargetImpl target;
  /** Receives the outcome, once, on the command's context. */
  private final Consumer<ScsiResult> done;
  /** Made on first use (only aborts wait for it); guarded by {@code this}, as is {@code completed}. */
  private Promise<Void> ended;
  private boolean completed;
  /** Guarded by the task set's monitor, as are the task set's links. */
  boolean started;
  Task prev;
  Task next;
  boolean inSet;
  private volatile boolean aborted;

  Task(ScsiCommand command, LogicalUnitImpl lu, ScsiTargetImpl target, Consumer<ScsiResult> done) {
    this.done = done;
    this.command = command;
    ByteBuf c = command.cdb();
    this.cdbLength = c.readableBytes();
    this.cdb = new byte[Math.max(MIN_CDB, cdbLength)];
    c.getBytes(c.readerIndex(), cdb, 0, cdbLength);
    this.lu = lu;
    this.target = target;
  }

  public ScsiCommand command() {
    return command;
  }

  public byte[] cdb() {
    return cdb;
  }

  public int cdbLength() {
    return cdbLength;
  }

  public int opcode() {
    return cdb[0] & 0xFF;
  }

  /** Null when the LUN addresses no logical unit. */
  public LogicalUnitImpl lu() {
    return lu;
  }

  public ScsiTargetImpl target() {
    return target;
  }

  public Nexus nexus() {
    return command.nexus();
  }

  public TaskAttribute attribute() {
    return command.attribute() == null ? TaskAttribute.SIMPLE : command.attribute();
  }

  public long tag() {
    return command.taskTag();
  }

  public int edtl() {
    return Math.max(0, command.expectedDataTransferLength());
  }

  public Context context() {
    return command.context();
  }

  public boolean aborted() {
    return aborted;
  }

  void abort() {
    aborted = true;
  }

  synchronized Future<Void> ended() {
    if (ended == null) {
      ended = Promise.promise();
      if (completed) ended.complete();
    }
    return ended.future();
  }

  /**
   * Hands the outcome to the transport on the command's context; the first call wins (an abort
   * may race the command's own end), later ones release their result and return false.
   */
  boolean complete(ScsiResult r) {
    Promise<Void> e;
    synchronized (this) {
      if (completed) {
        r.release();
        return false;
      }
      completed = true;
      e = ended;
    }
    Context ctx = context();
    if (Vertx.currentContext() == ctx) {
      done.accept(r);
    } else {
      ctx.runOnContext(v -> done.accept(r));
    }
    if (e != null) e.tryComplete();
    return true;
  }

  /** Runs blocking storage work on the engine's worker pool; completes on this command's context. */
  public <T> Future<T> blocking(Callable<T> work) {
    return lu.engine().worker().executeBlocking(work, false);
  }

  /** Re-delivers a future's outcome on this command's context. */
  public <T> Future<T> onContext(Future<T> f) {
    Promise<T> p = Promise.promise();
    Context ctx = context();
    f.onComplete(ar -> {
      if (Vertx.currentContext() == ctx) p.handle(ar);
      else ctx.runOnContext(v -> p.handle(ar));
    });
    return p.future();
  }

  /**
   * GOOD with Data-In: {@code data} holds what the command would transfer; it is cut to the
   * initiator's buffer and the residual set against it (RFC 7143 §11.4.5 via SAM-5 §5.1).
   */
  public ScsiResult dataIn(ByteBuf data) {
    int n = data.readableBytes();
    int edtl = edtl();
    if (n > edtl) data.writerIndex(data.readerIndex() + edtl);
    if (data.readableBytes() == 0) {
      data.release();
      data = null;
    }
    return ScsiResult.good(data, edtl - n);
  }

  /** GOOD for a command that moved {@code commandBytes} by its CDB (writes) or none. */
  public ScsiResult good(int commandBytes) {
    return ScsiResult.good(null, edtl() - commandBytes);
  }
}
