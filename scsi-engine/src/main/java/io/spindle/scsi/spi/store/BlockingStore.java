package io.spindle.scsi.spi.store;

import io.netty.buffer.ByteBuf;
import java.io.IOException;

/**
 * A store with blocking I/O (a local file), or with I/O that only touches memory. {@link
 * BlockingStores#adapt} turns it into a {@link BackingStore}: calls that may block run on the
 * engine's storage workers; a store whose {@link #blocks()} is false runs inline on the
 * command's context, and {@link #tryRead}/{@link #tryWrite} let a blocking store complete on the
 * event loop when the data needs no wait (page cache).
 */
public interface BlockingStore {

  long size();

  /** Reads {@code length} bytes at {@code offset} into the writable bytes of {@code dst}. */
  void read(ByteBuf dst, long offset, int length) throws IOException;

  /** Writes the readable bytes of {@code src} at {@code offset}; does not release {@code src}. */
  void write(ByteBuf src, long offset) throws IOException;

  /** Makes written data durable. */
  void flush() throws IOException;

  /** Deallocates the range; afterwards it reads as zeros. */
  void unmap(long offset, long length) throws IOException;

  /** True when the range may hold data; false when it is known to be deallocated. */
  default boolean isMapped(long offset, long length) {
    return true;
  }

  /** The end of the equally mapped run that starts at {@code offset}; at most {@link #size()}. */
  default long extentEnd(long offset) {
    return size();
  }

  /** False when reads and writes only touch memory and finish in bounded time: they run inline. */
  default boolean blocks() {
    return true;
  }

  /**
   * Tries {@link #read} without blocking, on an event loop: true when all bytes were read (and
   * {@code dst}'s writer index moved), false when it must go to a worker ({@code dst} unchanged).
   */
  default boolean tryRead(ByteBuf dst, long offset, int length) {
    return false;
  }

  /** Tries {@link #write} without blocking, as {@link #tryRead}; {@code src}'s reader index is not moved. */
  default boolean tryWrite(ByteBuf src, long offset) {
    return false;
  }

  /** Whether the store can deallocate (LBPME). */
  default boolean thin() {
    return false;
  }

  /** Where persistent reservations of this store are kept. */
  default ReservationStore reservations(StoreContext ctx) {
    return ReservationStore.NONE;
  }

  void close() throws IOException;
}
