package io.spindle.scsi.spi.store.tck;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.spindle.scsi.LunOptions;
import io.spindle.scsi.impl.ScsiEngineImpl;
import io.spindle.scsi.spi.store.BackingStore;
import io.spindle.scsi.spi.store.BackingStoreProvider;
import io.spindle.scsi.spi.store.BackingStoreProviders;
import io.spindle.scsi.spi.store.MiscompareException;
import io.spindle.scsi.spi.store.ReservationStore;
import io.spindle.scsi.spi.store.StoreContext;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The contract every backing store passes, through its provider as the engine opens it. A
 * provider's test extends this class and says how to configure a LUN of a given size and what
 * the store promises (keeps data, reads discarded ranges as zeros). Every operation is issued on
 * an event-loop context and must complete on that same context.
 */
public abstract class BackingStoreTck {

  protected static final int BS = 512;
  protected static final long SIZE = 8L << 20;
  private static final long TIMEOUT_S = 60;

  protected Vertx vertx;
  protected Context ctx;
  protected ScsiEngineImpl engine;
  protected BackingStore store;

  /** A LUN of {@code size} bytes; the same LUN (same data) on every call within one test. */
  protected abstract LunOptions lun(long size);

  /** False for a store that discards writes (null): reads then return zeros. */
  protected boolean keepsData() {
    return true;
  }

  /** False for a thin store that cannot tell mapped from deallocated ranges (GET LBA STATUS says mapped). */
  protected boolean tracksAllocation() {
    return true;
  }

  /** True when a closed and reopened store still has the data (file, rbd). */
  protected boolean persistent() {
    return false;
  }

  @BeforeEach
  void openStore() throws Exception {
    vertx = Vertx.vertx();
    ctx = vertx.getOrCreateContext();
    engine = new ScsiEngineImpl(vertx, 4);
    store = open();
  }

  @AfterEach
  void closeStore() throws Exception {
    try {
      if (store != null) awaitAnywhere(store.close());
    } finally {
      awaitAnywhere(engine.close());
      vertx.close().toCompletionStage().toCompletableFuture().get(TIMEOUT_S, TimeUnit.SECONDS);
    }
  }

  protected BackingStore open() throws Exception {
    LunOptions lun = lun(SIZE);
    BackingStoreProvider p = BackingStoreProviders.find(lun.backing());
    assertNotNull(p, "no provider for " + lun.backing());
    p.validate(lun, "lun");
    StoreContext sc = engine;
    return awaitAnywhere(p.open(lun, sc));
  }

  /** Opening and closing may complete on any thread (they are not a command's I/O). */
  protected static <T> T awaitAnywhere(Future<T> f) throws Exception {
    try {
      return f.toCompletionStage().toCompletableFuture().get(TIMEOUT_S, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof Exception x) throw x;
      throw e;
    }
  }

  /**
   * Starts {@code op} on the test's event-loop context and waits for it; its future must
   * complete on that context (the command's), never on a store thread.
   */
  protected <T> T await(Function<Context, Future<T>> op) throws Exception {
    CompletableFuture<T> cf = new CompletableFuture<>();
    ctx.runOnContext(v -> {
      Future<T> f;
      try {
        f = op.apply(ctx);
      } catch (RuntimeException e) {
        cf.completeExceptionally(e);
        return;
      }
      f.onComplete(ar -> {
        if (Vertx.currentContext() != ctx) {
          cf.completeExceptionally(new AssertionError("completed on " + Thread.currentThread().getName()
              + ", not on the command's context"));
        } else if (ar.succeeded()) {
          cf.complete(ar.result());
        } else {
          cf.completeExceptionally(ar.cause());
        }
      });
    });
    try {
      return cf.get(TIMEOUT_S, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof Exception x) throw x;
      throw e;
    }
  }

  protected static byte[] pattern(int length, long seed) {
    byte[] b = new byte[length];
    new Random(seed).nextBytes(b);
    return b;
  }

  protected void write(long offset, byte[] data, boolean fua) throws Exception {
    ByteBuf src = Unpooled.directBuffer(data.length).writeBytes(data);
    try {
      await(c -> store.write(c, src, offset, fua));
      assertEquals(0, src.readerIndex(), "write must not move the source's reader index");
    } finally {
      src.release();
    }
  }

  protected byte[] read(long offset, int length) throws Exception {
    ByteBuf dst = Unpooled.directBuffer(length);
    try {
      await(c -> store.read(c, dst, offset, length));
      assertEquals(length, dst.readableBytes(), "read must fill exactly the requested bytes");
      byte[] b = new byte[length];
      dst.getBytes(0, b);
      return b;
    } finally {
      dst.release();
    }
  }

  private byte[] expected(byte[] written) {
    return keepsData() ? written : new byte[written.length];
  }

  @Test
  void sizeIsTheConfiguredCapacity() {
    assertEquals(SIZE, store.size());
  }

  @Test
  void unwrittenBlocksReadAsZeros() throws Exception {
    assertArrayEquals(new byte[64 * 1024], read(SIZE / 2, 64 * 1024));
  }

  @Test
  void firstAndLastBlocksRoundTripWithoutTouchingNeighbours() throws Exception {
    byte[] first = pattern(BS, 1);
    byte[] last = pattern(BS, 2);
    write(0, first, false);
    write(SIZE - BS, last, false);
    assertArrayEquals(expected(first), read(0, BS));
    assertArrayEquals(expected(last), read(SIZE - BS, BS));
    assertArrayEquals(new byte[BS], read(BS, BS));
    assertArrayEquals(new byte[BS], read(SIZE - 2 * BS, BS));
  }

  @Test
  void unalignedMultiBlockTransfersAndSubRanges() throws Exception {
    // 512-aligned but not 4 KiB- or object-aligned; crosses 64 KiB (memory chunk) and 4 MiB (RBD object) lines.
    long offset = 4L * 1024 * 1024 - 3 * BS;
    byte[] data = pattern(300 * BS, 3);
    write(offset, data, false);
    assertArrayEquals(expected(data), read(offset, data.length));
    byte[] mid = new byte[7 * BS];
    System.arraycopy(data, 5 * BS, mid, 0, mid.length);
    assertArrayEquals(expected(mid), read(offset + 5 * BS, mid.length));
  }

  @Test
  void largeTransfer() throws Exception {
    byte[] data = pattern(1 << 20, 4);
    write(1 << 20, data, false);
    assertArrayEquals(expected(data), read(1 << 20, data.length));
  }

  @Test
  void fuaWriteIsReadableWhenAcknowledgedAndFlushOrdersAfterWrites() throws Exception {
    byte[] a = pattern(8 * BS, 5);
    byte[] b = pattern(8 * BS, 6);
    write(64 * BS, a, true);
    assertArrayEquals(expected(a), read(64 * BS, a.length));
    // Writes acknowledged before a flush are covered by it, and a later write still wins.
    write(64 * BS, b, false);
    await(c -> store.flush(c));
    write(64 * BS, a, false);
    await(c -> store.flush(c));
    assertArrayEquals(expected(a), read(64 * BS, a.length));
  }

  @Test
  void discardReadsBackZerosWhereTheStoreSaysSo() throws Exception {
    byte[] data = pattern(256 * BS, 7);
    write(0, data, false);
    await(c -> store.discard(c, 16 * BS, 128 * BS));
    byte[] back = read(0, data.length);
    if (store.thin() && store.discardZeroes()) {
      byte[] want = expected(data).clone();
      java.util.Arrays.fill(want, 16 * BS, 144 * BS, (byte) 0);
      assertArrayEquals(want, back);
    } else {
      // Outside the discarded range the data is untouched in every case.
      byte[] want = expected(data);
      assertArrayEquals(java.util.Arrays.copyOfRange(want, 0, 16 * BS), java.util.Arrays.copyOfRange(back, 0, 16 * BS));
      assertArrayEquals(java.util.Arrays.copyOfRange(want, 144 * BS, want.length),
          java.util.Arrays.copyOfRange(back, 144 * BS, back.length));
    }
  }

  @Test
  void discardedRangeIsReportedUnmappedWhenTracked() throws Exception {
    write(0, pattern(128 * BS, 8), false);
    BackingStore.Extent mapped = await(c -> store.extent(c, 0, BS));
    assertTrue(mapped.mapped(), "written data is mapped");
    assertTrue(mapped.end() > 0 && mapped.end() <= SIZE);
    if (!store.thin() || !tracksAllocation()) return;
    await(c -> store.discard(c, 0, 1 << 20));
    BackingStore.Extent e = await(c -> store.extent(c, 0, BS));
    assertTrue(!e.mapped() && e.end() >= 1 << 20 && e.end() <= SIZE, "a discarded MiB is one unmapped run: " + e);
  }

  @Test
  void writeSameReplicatesOneBlock() throws Exception {
    byte[] block = pattern(BS, 9);
    ByteBuf b = Unpooled.directBuffer(BS).writeBytes(block);
    try {
      await(c -> store.writeSame(c, b, 10 * BS, 2048L * BS, false));
    } finally {
      b.release();
    }
    byte[] back = read(10 * BS, 2048 * BS);
    for (int i = 0; i < 2048; i++) {
      assertArrayEquals(expected(block), java.util.Arrays.copyOfRange(back, i * BS, (i + 1) * BS), "block " + i);
    }
    assertArrayEquals(new byte[BS], read(9 * BS, BS));
    assertArrayEquals(new byte[BS], read((10 + 2048) * BS, BS));
  }

  @Test
  void compareAndWriteOfOneBlock() throws Exception {
    compareAndWrite(1, 100);
  }

  @Test
  void compareAndWriteOfSeveralBlocks() throws Exception {
    compareAndWrite(3, 200);
  }

  /** Writes on match; otherwise reports the first difference and writes nothing. */
  private void compareAndWrite(int blocks, long lba) throws Exception {
    int n = blocks * BS;
    byte[] old = pattern(n, 10 + blocks);
    byte[] next = pattern(n, 20 + blocks);
    write(lba * BS, old, false);
    ByteBuf cmp = Unpooled.directBuffer(n).writeBytes(expected(old));
    ByteBuf data = Unpooled.directBuffer(n).writeBytes(next);
    try {
      await(c -> store.compareAndWrite(c, cmp, data, lba * BS, false));
      assertArrayEquals(expected(next), read(lba * BS, n));
      if (!keepsData()) return;
      // Now the disk holds `next`; comparing against `next` with one byte changed fails there.
      int at = n - BS + 17;
      ByteBuf wrong = Unpooled.directBuffer(n).writeBytes(next);
      wrong.setByte(at, next[at] ^ 0x5A);
      try {
        MiscompareException m = assertThrows(MiscompareException.class,
            () -> await(c -> store.compareAndWrite(c, wrong, cmp, lba * BS, false)));
        assertEquals(at, m.offset());
      } finally {
        wrong.release();
      }
      assertArrayEquals(next, read(lba * BS, n), "a miscompare writes nothing");
    } finally {
      cmp.release();
      data.release();
    }
  }

  @Test
  void concurrentOverlappingWritesLeaveWholeBlocksOfOneWriter() throws Exception {
    int writers = 32;
    int len = 16 * BS;
    List<ByteBuf> bufs = new ArrayList<>();
    for (int i = 0; i < writers; i++) {
      byte[] fill = new byte[len];
      java.util.Arrays.fill(fill, (byte) (i + 1));
      bufs.add(Unpooled.directBuffer(len).writeBytes(fill));
    }
    try {
      await(c -> {
        List<Future<Void>> all = new ArrayList<>();
        // Each writer overlaps the next by half its length.
        for (int i = 0; i < writers; i++) all.add(store.write(c, bufs.get(i), 1000L * BS + (long) i * len / 2, false));
        return Future.all(all).mapEmpty();
      });
    } finally {
      bufs.forEach(ByteBuf::release);
    }
    int span = len / 2 * (writers + 1);
    byte[] back = read(1000L * BS, span);
    for (int blk = 0; blk < span / BS; blk++) {
      byte v = back[blk * BS];
      for (int j = 1; j < BS; j++) assertEquals(v, back[blk * BS + j], "block " + blk + " is torn");
      if (!keepsData()) {
        assertEquals(0, v);
        continue;
      }
      // Block blk is covered by writer blk / 8 and, past the first half, by the one before it.
      int w = blk / 8;
      assertTrue((w < writers && v == w + 1) || (w > 0 && v == w),
          "block " + blk + " holds " + v + ", written by none of the writers that cover it");
    }
  }

  @Test
  void reservationStateRoundTrips() throws Exception {
    ReservationStore r = store.reservations();
    assertNotNull(r);
    if (r == ReservationStore.NONE) return;
    JsonObject state = new JsonObject().put("generation", 7).put("note", "tck");
    await(c -> r.save(c, state));
    assertEquals(state, await(c -> r.load(c)));
    await(c -> r.save(c, null));
    assertNull(await(c -> r.load(c)));
  }

  @Test
  void dataSurvivesCloseAndReopen() throws Exception {
    byte[] data = pattern(4 * BS, 12);
    write(3 * BS, data, false);
    BackingStore closed = store;
    store = null;
    awaitAnywhere(closed.close());
    store = open();
    byte[] back = read(3 * BS, data.length);
    if (persistent()) assertArrayEquals(data, back);
    assertEquals(SIZE, store.size());
  }
}
