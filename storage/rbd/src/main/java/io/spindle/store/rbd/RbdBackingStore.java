package io.spindle.store.rbd;

import static io.spindle.store.rbd.Librbd.errno;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.spindle.scsi.spi.store.BackingStore;
import io.spindle.scsi.spi.store.BlockingStores;
import io.spindle.scsi.spi.store.MiscompareException;
import io.spindle.scsi.spi.store.ReservationStore;
import io.spindle.scsi.spi.store.SpaceExhaustedException;
import io.spindle.scsi.spi.store.StoreContext;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;
import java.util.function.ToLongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An open RBD image. Every I/O is one {@code rbd_aio_*} call made on the command's event loop
 * (librbd only queues it); its completion callback, on a librbd finisher thread, hands the result
 * to that context. No thread waits for an I/O. Opening, closing, metadata and size queries are
 * synchronous librbd calls and run on the storage workers.
 */
final class RbdBackingStore implements BackingStore {

  private static final Logger log = LoggerFactory.getLogger(RbdBackingStore.class);
  private static final int EILSEQ = 84;
  private static final int ENOSPC = 28;
  private static final int EDQUOT = 122;
  /** The largest range librbd's compare-and-write takes: one 512-byte sector. */
  private static final int CAW_SECTOR = 512;

  /** I/O in flight by the id passed to librbd as the completion's argument. */
  private static final Map<Long, Op> INFLIGHT = new ConcurrentHashMap<>();
  /** Open stores by the id their header watch carries. */
  private static final Map<Long, RbdBackingStore> WATCHED = new ConcurrentHashMap<>();
  private static final AtomicLong IDS = new AtomicLong();
  /** One out-parameter slot per thread for rbd_aio_create_completion (read at once, never kept). */
  private static final ThreadLocal<Memory> OUT = ThreadLocal.withInitial(() -> new Memory(8));

  /** The one completion callback; a static reference keeps JNA from collecting it. */
  private static final Librbd.Completion DONE = (completion, arg) -> {
    long rv = Librbd.Rbd.rbd_aio_get_return_value(completion);
    Librbd.Rbd.rbd_aio_release(completion);
    Op op = INFLIGHT.remove(Pointer.nativeValue(arg));
    if (op != null) op.done(rv);
  };
  private static final Librbd.UpdateCallback HEADER_CHANGED = arg -> {
    RbdBackingStore s = WATCHED.get(Pointer.nativeValue(arg));
    if (s != null) s.headerChanged();
  };

  /** Allocated extents found by a running {@code rbd_diff_iterate2}, by the id it carries. */
  private static final Map<Long, List<long[]>> DIFFS = new ConcurrentHashMap<>();
  private static final Librbd.DiffCallback EXTENT = (offset, length, exists, arg) -> {
    List<long[]> l = DIFFS.get(Pointer.nativeValue(arg));
    if (l != null && exists != 0) l.add(new long[] {offset, offset + length});
    return 0;
  };
  /** How far one GET LBA STATUS query looks ahead (objects are listed one by one without fast-diff). */
  private static final long EXTENT_WINDOW = 64L << 20;

  static {
    if (Librbd.LOAD_ERROR == null) {
      Librbd.keepAttached(EXTENT, "librbd-diff");
      Librbd.keepAttached(DONE, "librbd-completion");
      Librbd.keepAttached(HEADER_CHANGED, "librbd-watch");
    }
  }

  private final RbdConfig cfg;
  private final StoreContext workers;
  private final Pointer cluster;
  private final Pointer ioctx;
  private final Pointer image;
  private final long objectSize;
  private final long watchId;
  private final long watchHandle;
  private volatile long size;
  private volatile LongConsumer resized;
  /** Set once by {@link #close()}: later calls fail instead of touching a closed image. */
  private final java.util.concurrent.atomic.AtomicReference<Future<Void>> closing =
      new java.util.concurrent.atomic.AtomicReference<>();
  private final ReservationStore reservations;

  private RbdBackingStore(RbdConfig cfg, StoreContext workers, Pointer cluster, Pointer ioctx, Pointer image,
      long size, long objectSize, long watchId, long watchHandle) {
    this.cfg = cfg;
    this.workers = workers;
    this.cluster = cluster;
    this.ioctx = ioctx;
    this.image = image;
    this.size = size;
    this.objectSize = objectSize;
    this.watchId = watchId;
    this.watchHandle = watchHandle;
    this.reservations = new RbdReservationStore(cfg.spec(), image, workers);
  }

  /** Connects, opens (or creates) the image and watches its header. Blocking: call on a worker. */
  static RbdBackingStore open(RbdConfig cfg, StoreContext workers) throws IOException {
    RbdSession s = RbdSession.connect(cfg);
    try {
      Pointer image = s.openImage();
      long size = RbdSession.size(image);
      long objectSize = RbdSession.objectSize(image);
      long watchId = IDS.incrementAndGet();
      Memory handle = new Memory(8);
      int rv = Librbd.Rbd.rbd_update_watch(image, handle, HEADER_CHANGED, new Pointer(watchId));
      long watchHandle = rv < 0 ? -1 : handle.getLong(0);
      if (rv < 0) log.warn("rbd {}: no header watch ({}): a resize in Ceph is seen only at the next open", cfg.spec(), errno(rv));
      RbdBackingStore store = new RbdBackingStore(cfg, workers, s.cluster(), s.ioctx(), image, size, objectSize,
          watchId, watchHandle);
      if (watchHandle >= 0) WATCHED.put(watchId, store);
      log.info("rbd {}: open, {} bytes, {}-byte objects, monitors {}", cfg.spec(), size, objectSize, s.monitors());
      return store;
    } catch (IOException | RuntimeException e) {
      s.shutdown();
      throw e;
    }
  }

  /** One asynchronous call: the context it completes on, its promise, what to do with the result. */
  private abstract static class Op {
    final Context ctx;
    final Promise<Void> promise = Promise.promise();

    Op(Context ctx) {
      this.ctx = ctx;
    }

    /** On the librbd finisher thread: hand the result to the command's context. */
    final void done(long rv) {
      if (ctx == null) finish(rv);
      else ctx.runOnContext(v -> finish(rv));
    }

    private void finish(long rv) {
      try {
        if (rv < 0) promise.fail(failure(rv));
        else {
          succeeded();
          promise.complete();
        }
      } catch (RuntimeException e) {
        promise.tryFail(e);
      } finally {
        cleanup();
      }
    }

    /** On success, before the promise completes (a read moves the buffer's writer index). */
    void succeeded() {
    }

    abstract IOException failure(long rv);

    void cleanup() {
    }
  }

  /** An Op whose failure is an I/O error naming what failed. */
  private class Io extends Op {
    final String what;
    final long offset;

    Io(Context ctx, String what, long offset) {
      super(ctx);
      this.what = what;
      this.offset = offset;
    }

    @Override
    IOException failure(long rv) {
      return ioError(what, offset, rv);
    }
  }

  private IOException ioError(String what, long offset, long rv) {
    String m = "rbd " + cfg.spec() + ": " + what + " at byte " + offset + " failed: " + errno(rv);
    if (rv == -ENOSPC || rv == -EDQUOT) return new SpaceExhaustedException(m + " (pool full or quota reached)", null);
    return new IOException(m);
  }

  /** Creates a completion for {@code op}, makes the call, and returns the op's future. */
  private Future<Void> start(Op op, ToLongFunction<Pointer> call) {
    if (closing.get() != null && op.ctx != null) {
      op.cleanup();
      return Future.failedFuture(new IOException("rbd " + cfg.spec() + ": closed"));
    }
    long id = IDS.incrementAndGet();
    Memory out = OUT.get();
    int r = Librbd.Rbd.rbd_aio_create_completion(new Pointer(id), DONE, out);
    if (r < 0) {
      op.cleanup();
      return Future.failedFuture(op.failure(r));
    }
    Pointer completion = out.getPointer(0);
    INFLIGHT.put(id, op);
    long rv = call.applyAsLong(completion);
    if (rv < 0) {
      // Not queued: librbd will not call back.
      INFLIGHT.remove(id);
      Librbd.Rbd.rbd_aio_release(completion);
      op.cleanup();
      return Future.failedFuture(op.failure(rv));
    }
    return op.promise.future();
  }

  /** The address of {@code buf}'s readable bytes, or null when it is not one flat direct buffer. */
  private static Pointer flat(ByteBuf buf) {
    return buf.hasMemoryAddress() && buf.nioBufferCount() == 1 ? new Pointer(buf.memoryAddress() + buf.readerIndex())
        : null;
  }

  /** {@code buf}'s readable bytes in one direct buffer: a retained duplicate, or a copy. Release it. */
  private static ByteBuf flatCopy(ByteBuf buf) {
    if (flat(buf) != null) return buf.retainedDuplicate();
    ByteBuf c = PooledByteBufAllocator.DEFAULT.directBuffer(buf.readableBytes());
    c.writeBytes(buf, buf.readerIndex(), buf.readableBytes());
    return c;
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public Future<Void> read(Context ctx, ByteBuf dst, long offset, int length) {
    dst.ensureWritable(length);
    boolean direct = dst.hasMemoryAddress();
    ByteBuf target = direct ? dst : PooledByteBufAllocator.DEFAULT.directBuffer(length);
    int at = direct ? dst.writerIndex() : 0;
    Pointer p = new Pointer(target.memoryAddress() + at);
    return start(new Io(ctx, "read", offset) {
      @Override
      void succeeded() {
        if (direct) dst.writerIndex(at + length);
        else dst.writeBytes(target, 0, length);
      }

      @Override
      void cleanup() {
        if (!direct) target.release();
      }
    }, c -> Librbd.Rbd.rbd_aio_read(image, offset, length, p, c));
  }

  @Override
  public Future<Void> write(Context ctx, ByteBuf src, long offset, boolean fua) {
    return send(ctx, "write", offset, src, fua, (p, n, c) -> Librbd.Rbd.rbd_aio_write(image, offset, n, p, c));
  }

  /** A librbd call that sends a buffer. */
  private interface DataCall {
    long submit(Pointer data, int length, Pointer completion);
  }

  /**
   * Sends {@code src}'s readable bytes (one flat direct buffer, held until librbd is done with
   * it) and, with {@code fua}, flushes after: SBC-4 5.43, durable before GOOD.
   */
  private Future<Void> send(Context ctx, String what, long offset, ByteBuf src, boolean fua, DataCall call) {
    ByteBuf data = flatCopy(src);
    int n = data.readableBytes();
    Pointer p = flat(data);
    Future<Void> f = start(new Io(ctx, what, offset) {
      @Override
      void cleanup() {
        data.release();
      }
    }, c -> call.submit(p, n, c));
    return fua ? f.compose(v -> flush(ctx)) : f;
  }

  @Override
  public Future<Void> flush(Context ctx) {
    return start(new Io(ctx, "flush", 0), c -> Librbd.Rbd.rbd_aio_flush(image, c));
  }

  @Override
  public Future<Void> discard(Context ctx, long offset, long length) {
    return start(new Io(ctx, "discard", offset), c -> Librbd.Rbd.rbd_aio_discard(image, offset, length, c));
  }

  @Override
  public Future<Void> writeSame(Context ctx, ByteBuf block, long offset, long length, boolean fua) {
    return send(ctx, "write same", offset, block, fua,
        (p, n, c) -> Librbd.Rbd.rbd_aio_writesame(image, offset, length, p, n, c, 0));
  }

  /**
   * SBC-4 5.3 through {@code rbd_aio_compare_and_write}: the OSD compares and writes atomically,
   * so two gateways serving the image cannot interleave. librbd (Pacific) takes only a range
   * within one 512-byte sector (EINVAL otherwise); a longer one is compared and written here,
   * atomic against this gateway's writers only (the engine holds the LBA range).
   */
  @Override
  public Future<Void> compareAndWrite(Context ctx, ByteBuf compare, ByteBuf data, long offset, boolean fua) {
    int n = compare.readableBytes();
    if (offset % CAW_SECTOR + n > CAW_SECTOR) return compareThenWrite(ctx, compare, data, offset, fua);
    ByteBuf cmp = flatCopy(compare);
    ByteBuf buf = flatCopy(data);
    Memory mismatch = new Memory(8);
    mismatch.setLong(0, -1);
    Pointer pc = flat(cmp);
    Pointer pb = flat(buf);
    Future<Void> f = start(new Io(ctx, "compare and write", offset) {
      @Override
      IOException failure(long rv) {
        if (rv != -EILSEQ) return super.failure(rv);
        // librbd reports the image offset of the first byte that differs.
        long at = mismatch.getLong(0);
        return new MiscompareException(at >= offset ? at - offset : Math.max(0, at));
      }

      @Override
      void cleanup() {
        cmp.release();
        buf.release();
      }
    }, c -> Librbd.Rbd.rbd_aio_compare_and_write(image, offset, n, pc, pb, c, mismatch, 0));
    return fua ? f.compose(v -> flush(ctx)) : f;
  }

  private Future<Void> compareThenWrite(Context ctx, ByteBuf compare, ByteBuf data, long offset, boolean fua) {
    int n = compare.readableBytes();
    ByteBuf disk = PooledByteBufAllocator.DEFAULT.directBuffer(n);
    return read(ctx, disk, offset, n).compose(v -> {
      long at = BlockingStores.firstDifference(disk, compare);
      if (at >= 0) return Future.<Void>failedFuture(new MiscompareException(at));
      return write(ctx, data, offset, fua);
    }).andThen(ar -> disk.release());
  }

  /**
   * GET LBA STATUS from {@code rbd_diff_iterate2} (allocated extents since the image's creation):
   * mapped when an extent overlaps the first granule; the run goes on, window by window, until the
   * allocated (or unallocated) bytes end, so a wholly deallocated image is one run.
   */
  @Override
  public Future<Extent> extent(Context ctx, long offset, int granularity) {
    return workers.blocking(ctx, () -> {
      long limit = size;
      List<long[]> first = allocated(offset, Math.min(limit, offset + EXTENT_WINDOW));
      if (first == null) return new Extent(true, limit);
      boolean mapped = !first.isEmpty() && first.get(0)[0] < offset + granularity;
      long at = mapped ? first.get(0)[0] : offset;
      List<long[]> window = first;
      long windowEnd = Math.min(limit, offset + EXTENT_WINDOW);
      while (true) {
        for (long[] e : window) {
          if (mapped) {
            if (e[0] > at) return new Extent(true, at);
            at = Math.max(at, e[1]);
          } else {
            return new Extent(false, Math.max(e[0], offset + granularity));
          }
        }
        if (mapped && at < windowEnd) return new Extent(true, at);
        if (windowEnd >= limit) return new Extent(mapped, limit);
        long next = windowEnd;
        windowEnd = Math.min(limit, next + EXTENT_WINDOW);
        window = allocated(next, windowEnd);
        if (window == null) return new Extent(mapped, next);
        if (mapped) at = Math.max(at, next);
      }
    });
  }

  /** The allocated extents of {@code [from, to)}, sorted and clipped to the range; null when librbd fails. */
  private List<long[]> allocated(long from, long to) {
    long id = IDS.incrementAndGet();
    List<long[]> found = new ArrayList<>();
    DIFFS.put(id, found);
    int rv;
    try {
      rv = Librbd.Rbd.rbd_diff_iterate2(image, null, from, to - from, (byte) 1, (byte) 0, EXTENT, new Pointer(id));
    } finally {
      DIFFS.remove(id);
    }
    if (rv < 0) return null;
    List<long[]> out = new ArrayList<>();
    for (long[] e : found) {
      long s = Math.max(e[0], from);
      long t = Math.min(e[1], to);
      if (s < t) out.add(new long[] {s, t});
    }
    out.sort((x, y) -> Long.compare(x[0], y[0]));
    return out;
  }

  @Override
  public boolean thin() {
    return true;
  }

  /** Discards zero the range: the session turns rbd_skip_partial_discard off. */
  @Override
  public boolean discardZeroes() {
    return true;
  }

  @Override
  public ReservationStore reservations() {
    return reservations;
  }

  @Override
  public void onResize(LongConsumer listener) {
    this.resized = listener;
  }

  /** The header changed (librbd's watch thread): re-read the size on a worker, report a change. */
  private void headerChanged() {
    workers.blocking(null, () -> RbdSession.size(image)).onSuccess(n -> {
      if (n == size) return;
      log.info("rbd {}: size changed in Ceph from {} to {} bytes", cfg.spec(), size, n);
      size = n;
      LongConsumer l = resized;
      if (l != null) l.accept(n);
    });
  }

  @Override
  public Future<Void> close() {
    Promise<Void> p = Promise.promise();
    if (!closing.compareAndSet(null, p.future())) return closing.get();
    // The last flush (ctx null) is let through; every later call fails.
    Future<Void> flushed = flush(null).recover(e -> {
      log.warn("rbd {}: flush at close failed: {}", cfg.spec(), e.getMessage());
      return Future.succeededFuture();
    });
    flushed.compose(v -> workers.<Void>blocking(null, () -> {
      WATCHED.remove(watchId);
      if (watchHandle >= 0) Librbd.Rbd.rbd_update_unwatch(image, watchHandle);
      Librbd.Rbd.rbd_close(image);
      Librbd.Rados.rados_ioctx_destroy(ioctx);
      Librbd.Rados.rados_shutdown(cluster);
      return null;
    })).onComplete(p);
    return p.future();
  }
}
