package io.spindle.scsi.impl.store;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A regular file (sparse when created here). Reads and writes go straight between the
 * ByteBuf's NIO view and the channel at an absolute position: no intermediate copies, and
 * positional I/O lets the worker threads share one channel.
 */
public final class FileBackingStore implements BackingStore {

  private static final int ZERO_CHUNK = 1 << 20;

  private final Path path;
  private final long size;
  private final FileChannel channel;

  private FileBackingStore(Path path, long size, FileChannel channel) {
    this.path = path;
    this.size = size;
    this.channel = channel;
  }

  /**
   * Opens the file, creating it and its parent directories when missing. A file shorter than
   * {@code size} is grown (sparse); a longer one is used up to {@code size}.
   */
  public static FileBackingStore open(Path path, long size, boolean readOnly) throws IOException {
    Path parent = path.toAbsolutePath().getParent();
    if (parent != null && !readOnly) Files.createDirectories(parent);
    FileChannel ch = readOnly
        ? FileChannel.open(path, StandardOpenOption.READ)
        : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE, StandardOpenOption.CREATE);
    try {
      if (!readOnly && ch.size() < size) {
        // Writing the last byte extends the file without allocating the blocks in between.
        ch.write(ByteBuffer.wrap(new byte[1]), size - 1);
      }
    } catch (IOException e) {
      ch.close();
      throw e;
    }
    return new FileBackingStore(path, size, ch);
  }

  public Path path() {
    return path;
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public void read(ByteBuf dst, long offset, int length) throws IOException {
    int start = dst.writerIndex();
    dst.ensureWritable(length);
    ByteBuffer nio = dst.nioBuffer(start, length);
    long fileSize = channel.size();
    while (nio.hasRemaining()) {
      long pos = offset + nio.position();
      if (pos >= fileSize) {
        // A read-only file shorter than the configured size reads as zeros past its end.
        while (nio.hasRemaining()) nio.put((byte) 0);
        break;
      }
      if (channel.read(nio, pos) < 0) throw new EOFException(path + ": unexpected end of file at " + pos);
    }
    dst.writerIndex(start + length);
  }

  @Override
  public void write(ByteBuf src, long offset) throws IOException {
    long pos = offset;
    for (ByteBuffer nio : src.nioBuffers(src.readerIndex(), src.readableBytes())) {
      while (nio.hasRemaining()) pos += channel.write(nio, pos);
    }
  }

  @Override
  public void flush() throws IOException {
    channel.force(false);
  }

  @Override
  public void unmap(long offset, long length) throws IOException {
    // No portable hole punching from Java: write zeros so the range reads back as zeros.
    ByteBuf zeros = PooledByteBufAllocator.DEFAULT.directBuffer((int) Math.min(length, ZERO_CHUNK));
    try {
      zeros.writeZero(zeros.capacity());
      long pos = offset;
      long end = offset + length;
      while (pos < end) {
        int n = (int) Math.min(end - pos, zeros.capacity());
        ByteBuffer nio = zeros.nioBuffer(0, n);
        while (nio.hasRemaining()) pos += channel.write(nio, pos);
      }
    } finally {
      zeros.release();
    }
  }

  @Override
  public boolean thin() {
    return true;
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
