package io.spindle.scsi.impl.store;

import io.netty.buffer.ByteBuf;
import io.spindle.scsi.spi.store.BlockingStore;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Sparse in-memory store: fixed-size chunks allocated on first write, zeros elsewhere.
 * Chunk slots are published atomically; concurrent writers to the same bytes race as they
 * would on a disk (the task set orders commands where SAM-5 requires it).
 */
public final class MemoryBackingStore implements BlockingStore {

  static final int CHUNK_SHIFT = 16;
  static final int CHUNK_SIZE = 1 << CHUNK_SHIFT;

  private final long size;
  private final AtomicReferenceArray<byte[]> chunks;

  public MemoryBackingStore(long size) {
    this.size = size;
    this.chunks = new AtomicReferenceArray<>((int) ((size + CHUNK_SIZE - 1) >>> CHUNK_SHIFT));
  }

  @Override
  public boolean blocks() {
    return false;
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public void read(ByteBuf dst, long offset, int length) {
    while (length > 0) {
      int index = (int) (offset >>> CHUNK_SHIFT);
      int within = (int) (offset & (CHUNK_SIZE - 1));
      int n = Math.min(length, CHUNK_SIZE - within);
      byte[] chunk = chunks.get(index);
      if (chunk == null) dst.writeZero(n);
      else dst.writeBytes(chunk, within, n);
      offset += n;
      length -= n;
    }
  }

  @Override
  public void write(ByteBuf src, long offset) {
    int pos = src.readerIndex();
    int length = src.readableBytes();
    while (length > 0) {
      int index = (int) (offset >>> CHUNK_SHIFT);
      int within = (int) (offset & (CHUNK_SIZE - 1));
      int n = Math.min(length, CHUNK_SIZE - within);
      byte[] chunk = chunks.get(index);
      if (chunk == null) {
        chunks.compareAndSet(index, null, new byte[CHUNK_SIZE]);
        chunk = chunks.get(index);
      }
      src.getBytes(pos, chunk, within, n);
      pos += n;
      offset += n;
      length -= n;
    }
  }

  @Override
  public void flush() {
  }

  @Override
  public void unmap(long offset, long length) {
    while (length > 0) {
      int index = (int) (offset >>> CHUNK_SHIFT);
      int within = (int) (offset & (CHUNK_SIZE - 1));
      int n = (int) Math.min(length, CHUNK_SIZE - within);
      if (within == 0 && n == CHUNK_SIZE) {
        chunks.set(index, null);
      } else {
        byte[] chunk = chunks.get(index);
        if (chunk != null) java.util.Arrays.fill(chunk, within, within + n, (byte) 0);
      }
      offset += n;
      length -= n;
    }
  }

  @Override
  public boolean isMapped(long offset, long length) {
    long end = offset + length;
    for (long o = offset & ~(long) (CHUNK_SIZE - 1); o < end; o += CHUNK_SIZE) {
      if (chunks.get((int) (o >>> CHUNK_SHIFT)) != null) return true;
    }
    return false;
  }

  @Override
  public long extentEnd(long offset) {
    boolean mapped = chunks.get((int) (offset >>> CHUNK_SHIFT)) != null;
    long o = (offset & ~(long) (CHUNK_SIZE - 1)) + CHUNK_SIZE;
    while (o < size && (chunks.get((int) (o >>> CHUNK_SHIFT)) != null) == mapped) o += CHUNK_SIZE;
    return Math.min(o, size);
  }

  @Override
  public boolean thin() {
    return true;
  }

  @Override
  public void close() {
  }
}
