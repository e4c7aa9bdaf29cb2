package io.spindle.scsi.impl.store;

import com.sun.jna.LastErrorException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.spindle.scsi.spi.store.BlockingStore;
import io.spindle.scsi.spi.store.ReservationStore;
import io.spindle.scsi.spi.store.SpaceExhaustedException;
import io.spindle.scsi.spi.store.StoreContext;
import java.io.EOFException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A regular file, sparse when thin. Reads and writes go straight between the ByteBuf's NIO
 * view and the channel at an absolute position: no intermediate copies, and positional I/O
 * lets the worker threads share one channel. Deallocation and allocation queries use a second
 * descriptor from {@code open(2)} for {@code fallocate(2)} and {@code lseek(2)} (see
 * {@link LinuxFiles}); without them UNMAP writes zeros and every block reports mapped.
 */
public final class FileBackingStore implements BlockingStore {

  private static final Logger log = LoggerFactory.getLogger(FileBackingStore.class);
  private static final int ZERO_CHUNK = 1 << 20;

  private final Path path;
  private final long size;
  private final boolean thin;
  private final FileChannel channel;
  /**
   * The file's length, taken once at open: at least {@link #size} when writable (open grows the
   * file), possibly less for a read-only one. Nothing here changes it later, so reads no longer
   * ask the kernel (an fstat(2) per READ before).
   */
  private final long fileLength;
  /** Native descriptor for fallocate/lseek, or -1. */
  private final int fd;
  private volatile boolean punchHole;

  private FileBackingStore(Path path, long size, boolean thin, FileChannel channel, long fileLength, int fd) {
    this.path = path;
    this.size = size;
    this.thin = thin;
    this.channel = channel;
    this.fileLength = fileLength;
    this.fd = fd;
    this.punchHole = fd >= 0;
  }

  /** Opens a thin (sparse) file store; see {@link #open(Path, long, boolean, boolean)}. */
  public static FileBackingStore open(Path path, long size, boolean readOnly) throws IOException {
    return open(path, size, readOnly, true);
  }

  /**
   * Opens the file, creating it and its parent directories when missing. A file shorter than
   * {@code size} is grown: sparse when {@code thin}, else fully allocated with fallocate(2)
   * (SBC-4 4.7.2: a fully provisioned LU has every block mapped). A longer one is used up to
   * {@code size}.
   */
  public static FileBackingStore open(Path path, long size, boolean readOnly, boolean thin) throws IOException {
    Path parent = path.toAbsolutePath().getParent();
    if (readOnly && !Files.exists(path)) {
      // A read-only LU over a missing file is a blank medium: create it sparse, all zeros.
      if (parent != null) Files.createDirectories(parent);
      Files.createFile(path);
      growSparse(path, size);
    }
    if (parent != null && !readOnly) Files.createDirectories(parent);
    FileChannel ch = readOnly
        ? FileChannel.open(path, StandardOpenOption.READ)
        : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE, StandardOpenOption.CREATE);
    int fd = -1;
    long fileLength;
    try {
      if (LinuxFiles.AVAILABLE) {
        try {
          fd = LinuxFiles.LIBC.open(path.toString(), readOnly ? LinuxFiles.O_RDONLY : LinuxFiles.O_RDWR);
        } catch (LastErrorException e) {
          log.warn("{}: open(2) failed (errno {}): no hole punching", path, e.getErrorCode());
        }
      }
      if (!readOnly && ch.size() < size) {
        if (!thin && fd >= 0 && preallocate(fd, size)) {
          // allocated and extended in one call
        } else {
          growSparse(path, size);
        }
      } else if (!readOnly && !thin && fd >= 0) {
        preallocate(fd, size);
      }
      fileLength = ch.size();
    } catch (IOException | RuntimeException e) {
      ch.close();
      closeFd(fd);
      throw e;
    }
    return new FileBackingStore(path, size, thin, ch, fileLength, fd);
  }

  /** ftruncate(2) upwards: the new range is a hole, nothing allocated (and GET LBA STATUS says so). */
  private static void growSparse(Path path, long size) throws IOException {
    try (RandomAccessFile raf = new RandomAccessFile(path.toFile(), "rw")) {
      raf.setLength(size);
    }
  }

  private static boolean preallocate(int fd, long size) {
    try {
      LinuxFiles.LIBC.fallocate(fd, 0, 0, size);
      return true;
    } catch (LastErrorException e) {
      log.warn("fallocate(2) failed (errno {}): the file stays sparse", e.getErrorCode());
      return false;
    }
  }

  private static void closeFd(int fd) {
    if (fd < 0) return;
    try {
      LinuxFiles.LIBC.close(fd);
    } catch (LastErrorException e) {
      // nothing to recover
    }
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
    while (nio.hasRemaining()) {
      long pos = offset + nio.position();
      if (pos >= fileLength) {
        // A read-only file shorter than the configured size reads as zeros past its end.
        while (nio.hasRemaining()) nio.put((byte) 0);
        break;
      }
      if (channel.read(nio, pos) < 0) throw new EOFException(path + ": unexpected end of file at " + pos);
    }
    dst.writerIndex(start + length);
  }

  /**
   * preadv2(2) with RWF_NOWAIT: the kernel copies from the page cache or fails at once with
   * EAGAIN (it never waits for the disk), so the event loop may call it. A short or failed read
   * leaves {@code dst} as it was and the caller hands the read to a worker.
   */
  @Override
  public boolean tryRead(ByteBuf dst, long offset, int length) {
    if (!readNowait.usable() || fd < 0 || offset + length > fileLength || !dst.hasMemoryAddress()) return false;
    dst.ensureWritable(length);
    long n = readNowait.call(true, fd, dst.memoryAddress() + dst.writerIndex(), length, offset);
    if (n != length) return false;
    dst.writerIndex(dst.writerIndex() + length);
    return true;
  }

  /**
   * pwritev2(2) with RWF_NOWAIT: a buffered write that needs no I/O wait completes here, on file
   * systems that take the flag for buffered writes; otherwise EAGAIN or a short write (then the
   * worker rewrites the whole range, which is idempotent).
   */
  @Override
  public boolean tryWrite(ByteBuf src, long offset) {
    int length = src.readableBytes();
    if (!writeNowait.usable() || fd < 0 || src.nioBufferCount() != 1 || !src.hasMemoryAddress()) return false;
    return writeNowait.call(false, fd, src.memoryAddress() + src.readerIndex(), length, offset) == length;
  }

  /** One iovec per thread for the RWF_NOWAIT calls, in native memory. */
  private static final ThreadLocal<ByteBuffer> IOVEC = ThreadLocal.withInitial(
      () -> ByteBuffer.allocateDirect(16).order(java.nio.ByteOrder.nativeOrder()));
  /** Reads and writes apart: ext4 takes RWF_NOWAIT for reads but not for buffered writes (6.x). */
  private final NoWait readNowait = new NoWait("reads");
  private final NoWait writeNowait = new NoWait("writes");

  /**
   * RWF_NOWAIT calls of one kind and whether they work here: a kernel or file system without them
   * fails every call (EOPNOTSUPP; tmpfs does for both kinds), so after {@link #GIVE_UP} failures
   * without one success the store stops trying.
   */
  private final class NoWait {
    private static final int GIVE_UP = 256;
    private final String kind;
    // Raw addresses need Netty's Unsafe access to direct buffers.
    private volatile boolean off = !LinuxFiles.Direct.AVAILABLE || !io.netty.util.internal.PlatformDependent.hasUnsafe();
    private volatile boolean worked;
    private volatile int failures;

    NoWait(String kind) {
      this.kind = kind;
    }

    boolean usable() {
      return !off;
    }

    long call(boolean read, int fd, long address, int length, long offset) {
      ByteBuffer iov = IOVEC.get();
      iov.putLong(0, address).putLong(8, length);
      long iovAddress = io.netty.util.internal.PlatformDependent.directBufferAddress(iov);
      long n = read ? LinuxFiles.Direct.preadv2(fd, iovAddress, 1, offset, LinuxFiles.RWF_NOWAIT)
          : LinuxFiles.Direct.pwritev2(fd, iovAddress, 1, offset, LinuxFiles.RWF_NOWAIT);
      if (n >= 0) {
        if (!worked) worked = true;
      } else if (!worked && ++failures >= GIVE_UP) {
        off = true;
        log.info("{}: non-blocking (RWF_NOWAIT) {} are not supported here; they go to a storage worker", path, kind);
      }
      return n;
    }
  }

  @Override
  public void write(ByteBuf src, long offset) throws IOException {
    long pos = offset;
    try {
      for (ByteBuffer nio : src.nioBuffers(src.readerIndex(), src.readableBytes())) {
        while (nio.hasRemaining()) pos += channel.write(nio, pos);
      }
    } catch (IOException e) {
      throw spaceExhausted(e);
    }
  }

  /**
   * A thin file whose file system is full fails a write with ENOSPC; the JDK reports it only as
   * the strerror text. That is DATA PROTECT, SPACE ALLOCATION FAILED WRITE PROTECT (SBC-4
   * 4.7.3.6.3), not a medium error: the blocks written before still read back.
   */
  private IOException spaceExhausted(IOException e) {
    String m = e.getMessage();
    if (m != null && m.contains("No space left on device")) {
      return new SpaceExhaustedException(path + ": file system full (ENOSPC)", e);
    }
    return e;
  }

  /** APTPL state in {@code <path>.pr.json}, beside the image. */
  @Override
  public ReservationStore reservations(StoreContext ctx) {
    return new FileReservationStore(Path.of(path + ".pr.json"), ctx);
  }

  @Override
  public void flush() throws IOException {
    channel.force(false);
  }

  /**
   * SBC-4 4.7.3.5: deallocates by punching a hole (the file keeps its size, the blocks go back
   * to the file system, and the range reads as zeros: LBPRZ). A file system without hole
   * punching gets zeros written instead, with one warning.
   */
  @Override
  public void unmap(long offset, long length) throws IOException {
    if (length <= 0) return;
    if (punchHole) {
      try {
        LinuxFiles.LIBC.fallocate(fd, LinuxFiles.FALLOC_FL_PUNCH_HOLE | LinuxFiles.FALLOC_FL_KEEP_SIZE, offset, length);
        return;
      } catch (LastErrorException e) {
        punchHole = false;
        log.warn("{}: fallocate(PUNCH_HOLE) failed (errno {}): UNMAP now writes zeros", path, e.getErrorCode());
      }
    }
    writeZeros(offset, length);
  }

  private void writeZeros(long offset, long length) throws IOException {
    ByteBuf zeros = PooledByteBufAllocator.DEFAULT.directBuffer((int) Math.min(length, ZERO_CHUNK));
    try {
      zeros.writeZero(zeros.capacity());
      long pos = offset;
      long end = offset + length;
      while (pos < end) {
        int n = (int) Math.min(end - pos, zeros.capacity());
        ByteBuffer nio = zeros.nioBuffer(0, n);
        try {
          while (nio.hasRemaining()) pos += channel.write(nio, pos);
        } catch (IOException e) {
          throw spaceExhausted(e);
        }
      }
    } finally {
      zeros.release();
    }
  }

  /** True when any byte of the range is allocated in the file (lseek SEEK_DATA). */
  @Override
  public boolean isMapped(long offset, long length) {
    if (fd < 0) return true;
    long data = seek(offset, LinuxFiles.SEEK_DATA);
    if (data == SEEK_FAILED) return true;
    return data != NO_DATA && data < offset + length;
  }

  /** The end of the run of allocated (or unallocated) bytes starting at {@code offset}. */
  @Override
  public long extentEnd(long offset) {
    if (fd < 0) return size;
    long data = seek(offset, LinuxFiles.SEEK_DATA);
    if (data == SEEK_FAILED) return size;
    long end;
    if (data == offset) {
      end = seek(offset, LinuxFiles.SEEK_HOLE);
    } else {
      end = data == NO_DATA ? size : data;
    }
    return end < 0 ? size : Math.min(end, size);
  }

  private static final long NO_DATA = -1;
  private static final long SEEK_FAILED = -2;

  /** lseek(2) with SEEK_DATA/SEEK_HOLE: {@link #NO_DATA} on ENXIO, {@link #SEEK_FAILED} on other errors. */
  private long seek(long offset, int whence) {
    try {
      return LinuxFiles.LIBC.lseek(fd, offset, whence);
    } catch (LastErrorException e) {
      return e.getErrorCode() == LinuxFiles.ENXIO ? NO_DATA : SEEK_FAILED;
    }
  }

  @Override
  public boolean thin() {
    return thin;
  }

  @Override
  public void close() throws IOException {
    try {
      channel.close();
    } finally {
      closeFd(fd);
    }
  }
}
