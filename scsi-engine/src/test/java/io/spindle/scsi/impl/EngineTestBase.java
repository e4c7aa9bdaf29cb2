package io.spindle.scsi.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.netty.buffer.ByteBufUtil;
import io.spindle.scsi.LogicalUnit;
import io.spindle.scsi.LunOptions;
import io.spindle.scsi.Nexus;
import io.spindle.scsi.ScsiEngine;
import io.spindle.scsi.ScsiResult;
import io.spindle.scsi.ScsiStatus;
import io.spindle.scsi.ScsiTarget;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** Real Vert.x, a memory LU at LUN 0 and blocking helpers that unwrap results. */
abstract class EngineTestBase {

  static final Nexus N1 = new Nexus("iqn.i1", "iqn.i1,i,0x1", "iqn.t,t,0x1", 1);
  static final Nexus N2 = new Nexus("iqn.i2", "iqn.i2,i,0x2", "iqn.t,t,0x1", 1);
  static final int BLOCKS = 1024;

  Vertx vertx;
  Context ctx;
  ScsiEngine engine;
  ScsiTarget target;
  LogicalUnit lu;

  /** A finished command: status, sense bytes, Data-In bytes, residual; buffers already released. */
  record Outcome(int status, byte[] sense, byte[] data, int residual, boolean aborted) {
    int senseKey() {
      return sense[0] == 0x72 ? sense[1] & 0x0F : sense[2] & 0x0F;
    }

    int asc() {
      return sense[0] == 0x72 ? sense[2] & 0xFF : sense[12] & 0xFF;
    }
  }

  LunOptions options() {
    return LunOptions.memory(BLOCKS * 512L);
  }

  @BeforeEach
  void setUp() throws Exception {
    vertx = Vertx.vertx();
    ctx = vertx.getOrCreateContext();
    engine = ScsiEngine.create(vertx, 2);
    lu = await(engine.openLogicalUnit(options()));
    target = engine.createTarget("iqn.t", Map.of(0, lu));
    // Make both nexuses known to the LU, so that unit attentions raised later reach them.
    run(N1, cdb(0x00, 6), null, 0, false);
    run(N2, cdb(0x00, 6), null, 0, false);
  }

  @AfterEach
  void tearDown() throws Exception {
    await(engine.close());
    await(vertx.close());
  }

  static <T> T await(Future<T> f) throws Exception {
    CompletableFuture<T> cf = new CompletableFuture<>();
    f.onComplete(ar -> {
      if (ar.succeeded()) cf.complete(ar.result());
      else cf.completeExceptionally(ar.cause());
    });
    return cf.get(10, TimeUnit.SECONDS);
  }

  static byte[] cdb(int opcode, int length) {
    byte[] c = new byte[length];
    c[0] = (byte) opcode;
    return c;
  }

  Outcome run(Nexus n, byte[] cdb, byte[] dataOut, int edtl, boolean read) throws Exception {
    return run(new TestCommand(ctx, n, 0, cdb, dataOut, edtl, read));
  }

  Outcome run(TestCommand cmd) throws Exception {
    CompletableFuture<ScsiResult> cf = new CompletableFuture<>();
    ctx.runOnContext(v -> target.execute(cmd).onComplete(ar -> {
      // Completion must arrive on the command's context.
      if (Vertx.currentContext() != cmd.context()) cf.completeExceptionally(new AssertionError("wrong context"));
      else if (ar.succeeded()) cf.complete(ar.result());
      else cf.completeExceptionally(ar.cause());
    }));
    ScsiResult r = cf.get(10, TimeUnit.SECONDS);
    return toOutcome(r);
  }

  static Outcome toOutcome(ScsiResult r) {
    byte[] sense = r.sense() == null ? null : ByteBufUtil.getBytes(r.sense());
    byte[] data = r.dataIn() == null ? new byte[0] : ByteBufUtil.getBytes(r.dataIn());
    r.release();
    return new Outcome(r.status(), sense, data, r.residual(), r.aborted());
  }

  static void assertCheck(Outcome o, int key, int asc) {
    assertEquals(ScsiStatus.CHECK_CONDITION, o.status(), "status");
    assertNotNull(o.sense());
    assertEquals(key, o.senseKey(), "sense key");
    assertEquals(asc, o.asc(), "ASC");
  }

  static void assertGood(Outcome o) {
    assertEquals(ScsiStatus.GOOD, o.status(), () -> "status, sense key/asc "
        + (o.sense() == null ? "" : o.senseKey() + "/" + Integer.toHexString(o.asc())));
  }

  static byte[] rw10(int opcode, long lba, int blocks) {
    byte[] c = cdb(opcode, 10);
    c[2] = (byte) (lba >>> 24);
    c[3] = (byte) (lba >>> 16);
    c[4] = (byte) (lba >>> 8);
    c[5] = (byte) lba;
    c[7] = (byte) (blocks >>> 8);
    c[8] = (byte) blocks;
    return c;
  }

  static byte[] rw16(int opcode, long lba, int blocks) {
    byte[] c = cdb(opcode, 16);
    for (int i = 0; i < 8; i++) c[2 + i] = (byte) (lba >>> (56 - 8 * i));
    for (int i = 0; i < 4; i++) c[10 + i] = (byte) (blocks >>> (24 - 8 * i));
    return c;
  }

  static byte[] fill(int n, int value) {
    byte[] b = new byte[n];
    java.util.Arrays.fill(b, (byte) value);
    return b;
  }
}
