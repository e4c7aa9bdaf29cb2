package io.spindle.scsi.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.spindle.scsi.LunOptions;
import io.spindle.scsi.ScsiResult;
import io.spindle.scsi.TaskAttribute;
import io.spindle.scsi.TaskManagementFunction;
import io.spindle.scsi.TaskManagementResponse;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TaskManagementTest extends EngineTestBase {

  @TempDir
  Path dir;

  /** A write whose Data-Out never arrives until released: keeps the task running. */
  final class StalledWrite extends TestCommand {
    final Promise<ByteBuf> gate = Promise.promise();

    StalledWrite(byte[] cdb, long tag) {
      super(ctx, N1, 0, cdb, fill(512, 1), 512, false);
      this.tag = tag;
    }

    @Override
    public Future<ByteBuf> dataOut(int offset, int length) {
      return gate.future();
    }
  }

  private CompletableFuture<ScsiResult> submit(TestCommand cmd) {
    CompletableFuture<ScsiResult> cf = new CompletableFuture<>();
    ctx.runOnContext(v -> target.execute(cmd).onComplete(ar -> cf.complete(ar.result())));
    return cf;
  }

  private void barrier() throws Exception {
    CompletableFuture<Void> b = new CompletableFuture<>();
    ctx.runOnContext(v -> b.complete(null));
    b.get(10, TimeUnit.SECONDS);
  }

  @Test
  void abortTaskReturnsAbortedResult() throws Exception {
    StalledWrite w = new StalledWrite(rw10(0x2A, 0, 1), 77);
    CompletableFuture<ScsiResult> running = submit(w);
    // An ORDERED task behind it waits; ABORT TASK on the running one lets it go.
    TestCommand ordered = new TestCommand(ctx, N1, 0, cdb(0x00, 6), null, 0, false);
    ordered.attribute = TaskAttribute.ORDERED;
    ordered.tag = 78;
    CompletableFuture<ScsiResult> waiting = submit(ordered);
    barrier(); // both commands are in the task set once the context has run them
    assertTrue(!waiting.isDone());
    CompletableFuture<TaskManagementResponse> tmf = new CompletableFuture<>();
    ctx.runOnContext(v -> target.taskManagement(N1, TaskManagementFunction.ABORT_TASK, 0, 77)
        .onComplete(ar -> tmf.complete(ar.result())));
    ctx.runOnContext(v -> w.gate.complete(io.netty.buffer.Unpooled.directBuffer(512).writeZero(512)));
    assertEquals(TaskManagementResponse.FUNCTION_COMPLETE, tmf.get(10, TimeUnit.SECONDS));
    ScsiResult r = running.get(10, TimeUnit.SECONDS);
    assertTrue(r.aborted());
    assertGood(toOutcome(waiting.get(10, TimeUnit.SECONDS)));
  }

  @Test
  void luResetAbortsWaitingAndRaisesUnitAttention() throws Exception {
    StalledWrite w = new StalledWrite(rw10(0x2A, 0, 1), 1);
    CompletableFuture<ScsiResult> running = submit(w);
    TestCommand ordered = new TestCommand(ctx, N2, 0, cdb(0x00, 6), null, 0, false);
    ordered.attribute = TaskAttribute.ORDERED;
    CompletableFuture<ScsiResult> waiting = submit(ordered);
    CompletableFuture<TaskManagementResponse> tmf = new CompletableFuture<>();
    ctx.runOnContext(v -> target.taskManagement(N1, TaskManagementFunction.LOGICAL_UNIT_RESET, 0, 0)
        .onComplete(ar -> tmf.complete(ar.result())));
    assertTrue(waiting.get(10, TimeUnit.SECONDS).aborted());
    ctx.runOnContext(v -> w.gate.complete(io.netty.buffer.Unpooled.directBuffer(512).writeZero(512)));
    assertEquals(TaskManagementResponse.FUNCTION_COMPLETE, tmf.get(10, TimeUnit.SECONDS));
    assertTrue(running.get(10, TimeUnit.SECONDS).aborted());
    assertCheck(run(N1, cdb(0x00, 6), null, 0, false), SenseData.UNIT_ATTENTION, 0x29);
    assertCheck(run(N2, cdb(0x00, 6), null, 0, false), SenseData.UNIT_ATTENTION, 0x29);
    assertGood(run(N2, cdb(0x00, 6), null, 0, false));
  }

  @Test
  void unknownLunForTmf() throws Exception {
    assertEquals(TaskManagementResponse.INCORRECT_LOGICAL_UNIT_NUMBER,
        await(target.taskManagement(N1, TaskManagementFunction.LOGICAL_UNIT_RESET, LunAddressing.encode(9), 0)));
  }

  @Test
  void fileBackingCreatesSparseFileAndPersists() throws Exception {
    Path f = dir.resolve("sub/lun0.img");
    var flu = await(engine.openLogicalUnit(LunOptions.file(f.toString(), 1 << 20)));
    assertEquals(1 << 20, Files.size(f));
    var t2 = engine.createTarget("iqn.file", java.util.Map.of(0, flu));
    TestCommand tur = new TestCommand(ctx, N1, 0, cdb(0x00, 6), null, 0, false);
    CompletableFuture<ScsiResult> cf = new CompletableFuture<>();
    ctx.runOnContext(v -> t2.execute(tur).onComplete(ar -> cf.complete(ar.result())));
    toOutcome(cf.get(10, TimeUnit.SECONDS));
    byte[] w = rw10(0x2A, 2, 1);
    w[1] = 0x08; // FUA
    CompletableFuture<ScsiResult> wr = new CompletableFuture<>();
    TestCommand write = new TestCommand(ctx, N1, 0, w, fill(512, 0x42), 512, false);
    ctx.runOnContext(v -> t2.execute(write).onComplete(ar -> wr.complete(ar.result())));
    assertGood(toOutcome(wr.get(10, TimeUnit.SECONDS)));
    byte[] onDisk = Files.readAllBytes(f);
    assertEquals(0x42, onDisk[2 * 512]);
    assertEquals(0, onDisk[3 * 512]);
  }
}
