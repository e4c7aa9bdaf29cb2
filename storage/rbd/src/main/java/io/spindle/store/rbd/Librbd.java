package io.spindle.store.rbd;

import com.sun.jna.Callback;
import com.sun.jna.CallbackThreadInitializer;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

/**
 * The parts of librados' and librbd's C API ({@code rados/librados.h}, {@code rbd/librbd.h}) the
 * RBD store uses, bound by JNA direct mapping. Loading fails softly: {@link #LOAD_ERROR} says why
 * (librbd1 not installed), and the provider turns that into the LUN's open failure.
 */
final class Librbd {

  /** Null when both libraries loaded; otherwise what went wrong. */
  static final String LOAD_ERROR;

  static {
    String error = null;
    try {
      Native.register(Rados.class, NativeLibrary.getInstance("librados.so.2"));
      Native.register(Rbd.class, NativeLibrary.getInstance("librbd.so.1"));
    } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
      error = e.getMessage();
    }
    LOAD_ERROR = error;
  }

  private Librbd() {
  }

  /** librados: the cluster handle and I/O contexts. */
  static final class Rados {
    private Rados() {
    }

    static native int rados_create(Pointer cluster, String id);

    static native int rados_conf_read_file(Pointer cluster, String path);

    static native int rados_conf_set(Pointer cluster, String option, String value);

    static native int rados_conf_get(Pointer cluster, String option, Pointer buf, long len);

    static native int rados_connect(Pointer cluster);

    static native void rados_shutdown(Pointer cluster);

    static native int rados_ioctx_create(Pointer cluster, String pool, Pointer ioctx);

    static native void rados_ioctx_set_namespace(Pointer ioctx, String namespace);

    static native void rados_ioctx_destroy(Pointer ioctx);
  }

  /** librbd: images, asynchronous I/O, metadata, header watches. */
  static final class Rbd {
    private Rbd() {
    }

    static native int rbd_create(Pointer ioctx, String name, long size, Pointer order);

    static native int rbd_open(Pointer ioctx, String name, Pointer image, String snapName);

    static native int rbd_close(Pointer image);

    static native int rbd_get_size(Pointer image, Pointer size);

    static native int rbd_stat(Pointer image, Pointer info, long infoSize);

    static native int rbd_aio_create_completion(Pointer arg, Completion cb, Pointer completion);

    static native long rbd_aio_get_return_value(Pointer completion);

    static native void rbd_aio_release(Pointer completion);

    static native int rbd_aio_read(Pointer image, long off, long len, Pointer buf, Pointer completion);

    static native int rbd_aio_write(Pointer image, long off, long len, Pointer buf, Pointer completion);

    static native int rbd_aio_flush(Pointer image, Pointer completion);

    static native int rbd_aio_discard(Pointer image, long off, long len, Pointer completion);

    static native int rbd_aio_writesame(Pointer image, long off, long len, Pointer buf, long dataLen,
        Pointer completion, int opFlags);

    static native long rbd_aio_compare_and_write(Pointer image, long off, long len, Pointer cmpBuf, Pointer buf,
        Pointer completion, Pointer mismatchOff, int opFlags);

    static native int rbd_metadata_get(Pointer image, String key, Pointer value, Pointer valLen);

    static native int rbd_metadata_set(Pointer image, String key, String value);

    static native int rbd_metadata_remove(Pointer image, String key);

    static native int rbd_diff_iterate2(Pointer image, String fromSnap, long ofs, long len, byte includeParent,
        byte wholeObject, DiffCallback cb, Pointer arg);

    static native int rbd_update_watch(Pointer image, Pointer handle, UpdateCallback cb, Pointer arg);

    static native int rbd_update_unwatch(Pointer image, long handle);
  }

  /** {@code rbd_callback_t}: an asynchronous I/O finished (called on a librbd finisher thread). */
  interface Completion extends Callback {
    void invoke(Pointer completion, Pointer arg);
  }

  /** The callback of {@code rbd_diff_iterate2}: one allocated (or deallocated) extent. */
  interface DiffCallback extends Callback {
    int invoke(long offset, long length, int exists, Pointer arg);
  }

  /** {@code rbd_update_callback_t}: the image header changed (resize, features, ...). */
  interface UpdateCallback extends Callback {
    void invoke(Pointer arg);
  }

  /** Keeps librbd's callback threads attached to the JVM: attaching per completion costs more than the I/O. */
  static void keepAttached(Callback cb, String name) {
    Native.setCallbackThreadInitializer(cb, new CallbackThreadInitializer(true, false, name));
  }

  /** errno names for messages. */
  static String errno(long rv) {
    int e = (int) -rv;
    switch (e) {
      case 1: return "EPERM";
      case 2: return "ENOENT";
      case 5: return "EIO";
      case 13: return "EACCES";
      case 16: return "EBUSY";
      case 22: return "EINVAL";
      case 28: return "ENOSPC";
      case 34: return "ERANGE";
      case 84: return "EILSEQ";
      case 108: return "ESHUTDOWN";
      case 110: return "ETIMEDOUT";
      case 111: return "ECONNREFUSED";
      case 122: return "EDQUOT";
      default: return "errno " + e;
    }
  }
}
