package io.spindle.scsi.impl.store;

import io.netty.buffer.ByteBuf;
import java.io.IOException;

/**
 * Where a logical unit's blocks live. Every method may block and is called on the engine's
 * storage worker pool, never on an event loop; only a store whose {@link #blocks()} is false
 * has its reads and writes run inline on the command's context. Offsets and lengths are in bytes and
 * already checked against {@link #size()}.
 */
public interface BackingStore {

  long size();

  /** Reads {@code length} bytes at {@code offset} into the writable bytes of {@code dst}. */
  void read(ByteBuf dst, long offset, int length) throws IOException;

  /** Writes the readable bytes of {@code src} at {@code offset}; does not release {@code src}. */
  void write(ByteBuf src, long offset) throws IOException;

  /** Makes written data durable (SBC-4 5.26 SYNCHRONIZE CACHE, FUA). */
  void flush() throws IOException;

  /**
   * Deallocates {@code [offset, offset + length)} (SBC-4 4.7 logical block provisioning);
   * afterwards the range reads as zeros (LBPRZ).
   */
  void unmap(long offset, long length) throws IOException;

  /** True when the range may hold data; false when it is known to be deallocated (GET LBA STATUS). */
  default boolean isMapped(long offset, long length) {
    return true;
  }

  /**
   * The end (exclusive, in bytes) of the run that starts at {@code offset} and is entirely
   * mapped or entirely unmapped, as {@link #isMapped} sees it; at most {@link #size()}.
   */
  default long extentEnd(long offset) {
    return size();
  }

  /**
   * False when reads and writes only touch memory and finish in bounded time: the engine then
   * runs READ and WRITE inline on the command's context instead of handing them to a worker.
   */
  default boolean blocks() {
    return true;
  }

  /**
   * Tries {@link #read} without blocking, on the caller's thread (an event loop): true when all
   * {@code length} bytes were read (and {@code dst}'s writer index moved), false when the read
   * must go to a worker after all (data not in memory, or no way to know) — {@code dst} is then
   * unchanged. Saves the two thread hops of a worker round trip when the data is cached.
   */
  default boolean tryRead(ByteBuf dst, long offset, int length) {
    return false;
  }

  /**
   * Tries {@link #write} without blocking, as {@link #tryRead}: true when all of {@code src} was
   * written (its reader index is not moved), false when the write must go to a worker.
   */
  default boolean tryWrite(ByteBuf src, long offset) {
    return false;
  }

  /** Whether the store supports thin provisioning (LBPME in READ CAPACITY 16). */
  default boolean thin() {
    return false;
  }

  void close() throws IOException;
}
