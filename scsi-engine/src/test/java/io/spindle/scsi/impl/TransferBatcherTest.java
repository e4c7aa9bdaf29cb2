package io.spindle.scsi.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Transfers started in one event-loop turn go to one worker task and complete on their context. */
class TransferBatcherTest {

  Vertx vertx;
  WorkerExecutor worker;
  TransferBatcher batcher;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    worker = vertx.createSharedWorkerExecutor("batcher-test", 4);
    batcher = new TransferBatcher(worker);
  }

  @AfterEach
  void stop() throws Exception {
    worker.close().await(10, TimeUnit.SECONDS);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  /** Submits {@code n} transfers in one turn of {@code ctx}; each records its thread, the third fails. */
  private List<Object> burst(Context ctx, int n) throws Exception {
    CompletableFuture<List<Object>> done = new CompletableFuture<>();
    ctx.runOnContext(v -> {
      List<Future<Object>> fs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        int k = i;
        fs.add(batcher.submit(ctx, () -> {
          if (k == 2) throw new java.io.IOException("medium error " + k);
          return Thread.currentThread();
        }));
      }
      List<Object> out = new ArrayList<>();
      Future.join(new ArrayList<>(fs)).onComplete(ar -> {
        for (Future<Object> f : fs) {
          if (Vertx.currentContext() != ctx) out.add(new AssertionError("completed off the command's context"));
          else out.add(f.succeeded() ? f.result() : f.cause());
        }
        done.complete(out);
      });
    });
    return done.get(10, TimeUnit.SECONDS);
  }

  @Test
  void aBurstRunsAsOneWorkerTaskAndEachTransferKeepsItsOutcome() throws Exception {
    List<Object> out = burst(vertx.getOrCreateContext(), 5);
    Set<Object> threads = new HashSet<>();
    for (int i = 0; i < out.size(); i++) {
      if (i == 2) {
        assertTrue(out.get(i) instanceof java.io.IOException, String.valueOf(out.get(i)));
      } else {
        assertTrue(out.get(i) instanceof Thread, String.valueOf(out.get(i)));
        threads.add(out.get(i));
      }
    }
    assertEquals(1, threads.size(), "one worker task for the burst");
    assertTrue(((Thread) threads.iterator().next()).getName().startsWith("batcher-test"));
  }

  @Test
  void aBurstLargerThanABatchIsSplit() throws Exception {
    int n = 3 * TransferBatcher.MAX_BATCH + 1;
    List<Object> out = burst(vertx.getOrCreateContext(), n);
    assertEquals(n, out.size());
    for (int i = 0; i < n; i++) {
      if (i != 2) assertTrue(out.get(i) instanceof Thread, String.valueOf(out.get(i)));
    }
  }
}
