package io.spindle.scsi.spi.store;

import io.netty.buffer.ByteBuf;
import io.vertx.core.Context;
import io.vertx.core.Future;
import java.util.function.LongConsumer;

/**
 * Where a logical unit's blocks live, as the engine sees it: asynchronous I/O whose futures
 * complete on the {@link Context} passed in (the command's context). Offsets and lengths are in
 * bytes, already checked against {@link #size()} and aligned to the logical block size. The
 * engine holds the LBA range lock where SBC-4 requires atomicity (COMPARE AND WRITE, WRITE
 * ATOMIC); a store may still be shared with other gateways (RBD), which is why compare-and-write
 * is the store's own operation.
 *
 * <p>A store whose I/O blocks implements {@link BlockingStore} instead and is adapted with
 * {@link BlockingStores#adapt}. A failure is an {@link java.io.IOException}: {@link
 * MiscompareException} and {@link SpaceExhaustedException} have their own sense data, any other
 * is a MEDIUM ERROR (SBC-4 4.18).
 */
public interface BackingStore {

  /** Capacity in bytes. */
  long size();

  /** Reads {@code length} bytes at {@code offset} into the writable bytes of {@code dst} (moving its writer index). */
  Future<Void> read(Context ctx, ByteBuf dst, long offset, int length);

  /**
   * Writes the readable bytes of {@code src} at {@code offset}; does not release {@code src}.
   * With {@code fua} the data is durable when the future succeeds (SBC-4 5.43: FUA, or WCE=0).
   */
  Future<Void> write(Context ctx, ByteBuf src, long offset, boolean fua);

  /** Makes every completed write durable (SBC-4 5.26 SYNCHRONIZE CACHE). */
  Future<Void> flush(Context ctx);

  /**
   * Deallocates {@code [offset, offset + length)} (SBC-4 4.7.3.5, UNMAP). Afterwards the range
   * reads as zeros when {@link #discardZeroes()}.
   */
  Future<Void> discard(Context ctx, long offset, long length);

  /**
   * Writes {@code block} (one logical block, not released) repeatedly over
   * {@code [offset, offset + length)} (SBC-4 5.49 WRITE SAME).
   */
  Future<Void> writeSame(Context ctx, ByteBuf block, long offset, long length, boolean fua);

  /**
   * SBC-4 5.3 COMPARE AND WRITE: when the {@code compare.readableBytes()} bytes at {@code offset}
   * equal {@code compare}, writes {@code data} (same length) there, atomically; otherwise fails
   * with {@link MiscompareException} naming the offset of the first difference and writes nothing.
   */
  Future<Void> compareAndWrite(Context ctx, ByteBuf compare, ByteBuf data, long offset, boolean fua);

  /**
   * The allocation run at {@code offset} for GET LBA STATUS (SBC-4 5.7): whether any byte of
   * {@code [offset, offset + granularity)} is mapped, and where the run of equally mapped bytes
   * that starts at {@code offset} ends. A store that does not track allocation says mapped to the end.
   */
  default Future<Extent> extent(Context ctx, long offset, int granularity) {
    return Future.succeededFuture(new Extent(true, size()));
  }

  /** Whether the store can deallocate (LBPME in READ CAPACITY 16; UNMAP supported). */
  default boolean thin() {
    return false;
  }

  /** Whether a discarded range reads back as zeros (LBPRZ). */
  default boolean discardZeroes() {
    return true;
  }

  /**
   * Where this unit's persistent reservations (SPC-4 §5.9.5 APTPL) are kept: beside a file, in
   * the cluster of a distributed store, or nowhere (the default).
   */
  default ReservationStore reservations() {
    return ReservationStore.NONE;
  }

  /**
   * Calls {@code listener} with the new size in bytes whenever the capacity changes outside
   * Spindle (an image resized in Ceph); the engine then reports CAPACITY DATA HAS CHANGED.
   * The default never calls it.
   */
  default void onResize(LongConsumer listener) {
  }

  /** Flushes and releases the store, once (later calls return the same future); may complete on any thread. */
  Future<Void> close();

  /** One allocation run: {@code mapped} or not, up to {@code end} (exclusive, bytes). */
  record Extent(boolean mapped, long end) {
  }
}
