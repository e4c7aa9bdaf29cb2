package io.spindle.store.rbd;

import static io.spindle.store.rbd.Librbd.errno;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.spindle.scsi.spi.store.StoreUnavailableException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The blocking half of opening an RBD LUN: a cluster handle configured from {@code cephConf},
 * connected within {@link RbdConfig#CONNECT_TIMEOUT_S}, an I/O context on the pool (and
 * namespace), the image opened or created. Every failure names the image, the monitors and what
 * to check. Call on a storage worker.
 */
final class RbdSession {

  private static final Logger log = LoggerFactory.getLogger(RbdSession.class);
  private static final int ENOENT = 2;

  private final RbdConfig cfg;
  private final Pointer cluster;
  private final String monitors;
  private Pointer ioctx;

  private RbdSession(RbdConfig cfg, Pointer cluster, String monitors) {
    this.cfg = cfg;
    this.cluster = cluster;
    this.monitors = monitors;
  }

  Pointer cluster() {
    return cluster;
  }

  Pointer ioctx() {
    return ioctx;
  }

  String monitors() {
    return monitors;
  }

  static RbdSession connect(RbdConfig cfg) throws IOException {
    if (!Files.isReadable(Path.of(cfg.cephConf()))) {
      throw new StoreUnavailableException("rbd " + cfg.spec() + ": cannot read cephConf " + cfg.cephConf()
          + " (install ceph-common and copy the cluster's ceph.conf there, or set \"cephConf\")");
    }
    Memory out = new Memory(8);
    int rv = Librbd.Rados.rados_create(out, cfg.user());
    if (rv < 0) throw new IOException("rbd " + cfg.spec() + ": rados_create(" + cfg.user() + ") failed: " + errno(rv));
    Pointer cluster = out.getPointer(0);
    RbdSession s = new RbdSession(cfg, cluster, null);
    try {
      check(Librbd.Rados.rados_conf_read_file(cluster, cfg.cephConf()), cfg, "cannot parse cephConf " + cfg.cephConf());
      if (cfg.keyring() != null) check(Librbd.Rados.rados_conf_set(cluster, "keyring", cfg.keyring()), cfg, "keyring");
      // A cluster that does not answer fails the open in bounded time instead of hanging start-up.
      String t = Integer.toString(RbdConfig.CONNECT_TIMEOUT_S);
      check(Librbd.Rados.rados_conf_set(cluster, "client_mount_timeout", t), cfg, "client_mount_timeout");
      check(Librbd.Rados.rados_conf_set(cluster, "rados_mon_op_timeout", t), cfg, "rados_mon_op_timeout");
      // LBPRZ: a discard always zeroes what it covers, also the parts of objects it does not free.
      Librbd.Rados.rados_conf_set(cluster, "rbd_skip_partial_discard", "false");
      String monitors = confGet(cluster, "mon_host");
      s = new RbdSession(cfg, cluster, monitors);
      rv = Librbd.Rados.rados_connect(cluster);
      if (rv < 0) {
        throw new StoreUnavailableException("rbd " + cfg.spec() + ": cannot reach the Ceph cluster (monitors "
            + monitors + " from " + cfg.cephConf() + ", user client." + cfg.user() + "): " + errno(rv)
            + " within " + RbdConfig.CONNECT_TIMEOUT_S + " s; check that the monitors run (ceph -s) and that the"
            + " keyring " + (cfg.keyring() == null ? "named in " + cfg.cephConf() : cfg.keyring())
            + " holds client." + cfg.user() + "'s key");
      }
      out.setPointer(0, null);
      rv = Librbd.Rados.rados_ioctx_create(cluster, cfg.pool(), out);
      if (rv < 0) {
        throw new StoreUnavailableException("rbd " + cfg.spec() + ": pool " + cfg.pool() + ": " + errno(rv)
            + (rv == -ENOENT ? " (create it: ceph osd pool create " + cfg.pool() + "; rbd pool init " + cfg.pool() + ")" : ""));
      }
      s.ioctx = out.getPointer(0);
      if (cfg.namespace() != null) Librbd.Rados.rados_ioctx_set_namespace(s.ioctx, cfg.namespace());
      return s;
    } catch (IOException | RuntimeException e) {
      s.shutdown();
      throw e;
    }
  }

  private static void check(int rv, RbdConfig cfg, String what) throws IOException {
    if (rv < 0) throw new StoreUnavailableException("rbd " + cfg.spec() + ": " + what + ": " + errno(rv));
  }

  private static String confGet(Pointer cluster, String option) {
    Memory buf = new Memory(1024);
    return Librbd.Rados.rados_conf_get(cluster, option, buf, buf.size()) < 0 ? "(unknown)" : buf.getString(0);
  }

  /** Opens the image, creating it first when it is missing and {@code create} is set. */
  Pointer openImage() throws IOException {
    Memory out = new Memory(8);
    int rv = Librbd.Rbd.rbd_open(ioctx, cfg.image(), out, null);
    if (rv == -ENOENT && cfg.create()) {
      Memory order = new Memory(4);
      order.setInt(0, 0);
      int c = Librbd.Rbd.rbd_create(ioctx, cfg.image(), cfg.size(), order);
      if (c < 0 && c != -17) throw new IOException("rbd " + cfg.spec() + ": cannot create the image: " + errno(c));
      if (c == 0) log.info("rbd {}: created, {} bytes", cfg.spec(), cfg.size());
      rv = Librbd.Rbd.rbd_open(ioctx, cfg.image(), out, null);
    }
    if (rv == -ENOENT) {
      throw new StoreUnavailableException("rbd " + cfg.spec() + ": no such image; create it (rbd create --size SIZE "
          + cfg.spec() + ") or configure \"create\": true with a \"size\"");
    }
    if (rv < 0) throw new StoreUnavailableException("rbd " + cfg.spec() + ": cannot open the image: " + errno(rv));
    return out.getPointer(0);
  }

  static long size(Pointer image) throws IOException {
    Memory out = new Memory(8);
    int rv = Librbd.Rbd.rbd_get_size(image, out);
    if (rv < 0) throw new IOException("rbd_get_size: " + errno(rv));
    return out.getLong(0);
  }

  /** The image's object size (rbd_image_info_t.obj_size, the struct's second field). */
  static long objectSize(Pointer image) throws IOException {
    Memory info = new Memory(512);
    int rv = Librbd.Rbd.rbd_stat(image, info, info.size());
    if (rv < 0) throw new IOException("rbd_stat: " + errno(rv));
    return info.getLong(8);
  }

  void shutdown() {
    if (ioctx != null) Librbd.Rados.rados_ioctx_destroy(ioctx);
    Librbd.Rados.rados_shutdown(cluster);
  }
}
