package io.spindle.scsi.spi.store;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.vertx.core.Context;
import io.vertx.core.Future;
import java.io.IOException;
import java.util.concurrent.Callable;

/** Adapts a {@link BlockingStore} onto the engine's storage workers, keeping its non-blocking fast paths. */
public final class BlockingStores {

  /** WRITE SAME and zero fill go to the store in runs of at most this many bytes. */
  static final int REPLICATE_CHUNK = 1 << 20;

  private BlockingStores() {
  }

  public static BackingStore adapt(BlockingStore store, StoreContext ctx) {
    return new Adapter(store, ctx);
  }

  /** Something a blocking store does, which may throw. */
  private interface Io {
    void run() throws IOException;
  }

  private static final class Adapter implements BackingStore {
    private final BlockingStore store;
    private final StoreContext workers;
    private final ReservationStore reservations;

    Adapter(BlockingStore store, StoreContext workers) {
      this.store = store;
      this.workers = workers;
      this.reservations = store.reservations(workers);
    }

    /** Inline when the store does not block (memory, null), else on a storage worker. */
    private Future<Void> run(Context ctx, Io io) {
      if (!store.blocks()) return now(io);
      return workers.blocking(ctx, () -> {
        io.run();
        return null;
      });
    }

    private static Future<Void> now(Io io) {
      try {
        io.run();
        return Future.succeededFuture();
      } catch (IOException | RuntimeException e) {
        return Future.failedFuture(e);
      }
    }

    private <T> Future<T> call(Context ctx, Callable<T> work) {
      if (!store.blocks()) {
        try {
          return Future.succeededFuture(work.call());
        } catch (Exception e) {
          return Future.failedFuture(e);
        }
      }
      return workers.blocking(ctx, work);
    }

    @Override
    public long size() {
      return store.size();
    }

    @Override
    public Future<Void> read(Context ctx, ByteBuf dst, long offset, int length) {
      if (store.blocks() && store.tryRead(dst, offset, length)) return Future.succeededFuture();
      return run(ctx, () -> store.read(dst, offset, length));
    }

    @Override
    public Future<Void> write(Context ctx, ByteBuf src, long offset, boolean fua) {
      if (store.blocks() && !fua && store.tryWrite(src, offset)) return Future.succeededFuture();
      return run(ctx, () -> {
        store.write(src, offset);
        if (fua) store.flush();
      });
    }

    @Override
    public Future<Void> flush(Context ctx) {
      return run(ctx, store::flush);
    }

    @Override
    public Future<Void> discard(Context ctx, long offset, long length) {
      return run(ctx, () -> store.unmap(offset, length));
    }

    @Override
    public Future<Void> writeSame(Context ctx, ByteBuf block, long offset, long length, boolean fua) {
      return run(ctx, () -> {
        replicate(store, block, offset, length);
        if (fua) store.flush();
      });
    }

    @Override
    public Future<Void> compareAndWrite(Context ctx, ByteBuf compare, ByteBuf data, long offset, boolean fua) {
      int n = compare.readableBytes();
      return run(ctx, () -> {
        ByteBuf disk = PooledByteBufAllocator.DEFAULT.directBuffer(n);
        try {
          store.read(disk, offset, n);
          long at = firstDifference(disk, compare);
          if (at >= 0) throw new MiscompareException(at);
          store.write(data, offset);
          if (fua) store.flush();
        } finally {
          disk.release();
        }
      });
    }

    @Override
    public Future<Extent> extent(Context ctx, long offset, int granularity) {
      return call(ctx, () -> new Extent(store.isMapped(offset, granularity), store.extentEnd(offset)));
    }

    @Override
    public boolean thin() {
      return store.thin();
    }

    @Override
    public ReservationStore reservations() {
      return reservations;
    }

    @Override
    public Future<Void> close() {
      // Closing may block (a file's final flush) even for stores whose I/O does not.
      return workers.blocking(null, () -> {
        try {
          store.flush();
        } finally {
          store.close();
        }
        return null;
      });
    }
  }

  /** The index of the first byte where {@code a} and {@code b} differ (readable bytes of each), or -1. */
  public static long firstDifference(ByteBuf a, ByteBuf b) {
    int n = Math.min(a.readableBytes(), b.readableBytes());
    int ai = a.readerIndex();
    int bi = b.readerIndex();
    for (int j = 0; j < n; j++) {
      if (a.getByte(ai + j) != b.getByte(bi + j)) return j;
    }
    return a.readableBytes() == b.readableBytes() ? -1 : n;
  }

  /** Writes {@code block} over {@code [offset, offset + length)} in runs of at most {@link #REPLICATE_CHUNK}. */
  static void replicate(BlockingStore store, ByteBuf block, long offset, long length) throws IOException {
    int bs = block.readableBytes();
    long count = length / bs;
    int perChunk = (int) Math.min(count, Math.max(1, REPLICATE_CHUNK / bs));
    ByteBuf chunk = PooledByteBufAllocator.DEFAULT.directBuffer(perChunk * bs);
    try {
      for (int i = 0; i < perChunk; i++) chunk.writeBytes(block, block.readerIndex(), bs);
      long done = 0;
      while (done < count) {
        int n = (int) Math.min(perChunk, count - done);
        store.write(chunk.slice(0, n * bs), offset + done * bs);
        done += n;
      }
    } finally {
      chunk.release();
    }
  }
}
