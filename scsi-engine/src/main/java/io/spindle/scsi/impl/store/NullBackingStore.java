package io.spindle.scsi.impl.store;

import io.netty.buffer.ByteBuf;
import io.spindle.scsi.spi.store.BlockingStore;

/** Discards writes and reads zeros: measures the protocol path without storage. */
public final class NullBackingStore implements BlockingStore {

  private final long size;

  public NullBackingStore(long size) {
    this.size = size;
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
    dst.writeZero(length);
  }

  @Override
  public void write(ByteBuf src, long offset) {
  }

  @Override
  public void flush() {
  }

  @Override
  public void unmap(long offset, long length) {
  }

  @Override
  public void close() {
  }
}
