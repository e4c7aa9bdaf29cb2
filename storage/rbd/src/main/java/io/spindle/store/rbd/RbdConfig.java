package io.spindle.store.rbd;

import io.spindle.scsi.LunOptions;
import io.spindle.scsi.spi.store.StoreOptions;

/** A LUN's {@code "backing": "rbd"} options, checked. */
record RbdConfig(String pool, String namespace, String image, String cephConf, String user, String keyring,
    boolean create, long size) {

  static final String DEFAULT_CEPH_CONF = "/etc/ceph/ceph.conf";
  static final String DEFAULT_USER = "admin";
  /** Seconds a connect or monitor command may take before the LUN fails to open (client_mount_timeout). */
  static final int CONNECT_TIMEOUT_S = 15;

  static RbdConfig of(LunOptions lun, String where) {
    StoreOptions.only(lun, where, "pool", "image", "namespace", "cephConf", "user", "keyring", "create");
    String pool = StoreOptions.required(lun, where, "pool", "the Ceph pool holding the image");
    String image = StoreOptions.required(lun, where, "image", "the RBD image name");
    String ns = StoreOptions.string(lun, where, "namespace");
    String conf = StoreOptions.string(lun, where, "cephConf");
    String user = StoreOptions.string(lun, where, "user");
    String keyring = StoreOptions.string(lun, where, "keyring");
    boolean create = StoreOptions.bool(lun, where, "create", false);
    if (create && lun.size() <= 0) {
      throw new IllegalArgumentException(where + ".size: required with \"create\": true (the size of a new image)");
    }
    if (user != null && user.startsWith("client.")) user = user.substring("client.".length());
    if (user != null && user.isBlank()) throw new IllegalArgumentException(where + ".user: must not be blank");
    return new RbdConfig(pool, ns == null || ns.isEmpty() ? null : ns, image, conf == null ? DEFAULT_CEPH_CONF : conf,
        user == null ? DEFAULT_USER : user, keyring, create, lun.size());
  }

  /** pool/[namespace/]image, as the rbd CLI writes it. */
  String spec() {
    return pool + "/" + (namespace == null ? "" : namespace + "/") + image;
  }
}
