package io.spindle.scsi.impl.store;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The few Linux file calls Java has no API for, through JNA: {@code fallocate(2)} to punch
 * holes and preallocate, {@code lseek(2)} with SEEK_DATA/SEEK_HOLE to find allocated extents.
 * {@link #AVAILABLE} is false off Linux or when libc cannot be loaded; callers then fall back
 * to portable behaviour.
 */
final class LinuxFiles {

  private static final Logger log = LoggerFactory.getLogger(LinuxFiles.class);

  static final int O_RDONLY = 0;
  static final int O_RDWR = 2;
  /** fallocate(2) modes, linux/falloc.h. */
  static final int FALLOC_FL_KEEP_SIZE = 0x01;
  static final int FALLOC_FL_PUNCH_HOLE = 0x02;
  /** lseek(2) whence values, since Linux 3.1. */
  static final int SEEK_DATA = 3;
  static final int SEEK_HOLE = 4;
  /** errno: no data at or after the offset (SEEK_DATA at the tail hole). */
  static final int ENXIO = 6;

  interface LibC extends Library {
    int open(String path, int flags) throws LastErrorException;

    int close(int fd) throws LastErrorException;

    int fallocate(int fd, int mode, long offset, long length) throws LastErrorException;

    long lseek(int fd, long offset, int whence) throws LastErrorException;
  }

  static final LibC LIBC;
  static final boolean AVAILABLE;

  /** preadv2(2)/pwritev2(2) flag, since Linux 4.14: fail with EAGAIN instead of waiting for I/O. */
  static final int RWF_NOWAIT = 0x08;

  /**
   * preadv2(2) and pwritev2(2), bound with JNA's direct mapping (a plain native call, far cheaper
   * than the interface proxy above: these run once per READ or WRITE). The iovec address is a raw
   * pointer; -1 is returned on any error (errno is not needed: every failure means "not now").
   */
  static final class Direct {
    static final boolean AVAILABLE;

    static {
      boolean ok = false;
      if (LinuxFiles.AVAILABLE) {
        try {
          Native.register(Direct.class, "c");
          ok = true;
        } catch (LinkageError e) {
          log.info("preadv2/pwritev2 not available through JNA ({}): file I/O always goes to a worker", e.toString());
        }
      }
      AVAILABLE = ok;
    }

    static native long preadv2(int fd, long iov, int iovcnt, long offset, int flags);

    static native long pwritev2(int fd, long iov, int iovcnt, long offset, int flags);

    private Direct() {
    }
  }

  static {
    LibC lib = null;
    // off_t is 64 bits only on 64-bit Linux ABIs; the long parameters above assume it.
    if (Platform.isLinux() && Native.LONG_SIZE == 8) {
      try {
        lib = Native.load("c", LibC.class);
      } catch (LinkageError e) {
        log.warn("libc not loadable through JNA ({}): no hole punching, UNMAP writes zeros", e.toString());
      }
    }
    LIBC = lib;
    AVAILABLE = lib != null;
  }

  private LinuxFiles() {
  }
}
