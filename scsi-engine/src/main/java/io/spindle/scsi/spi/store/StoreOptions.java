package io.spindle.scsi.spi.store;

import io.spindle.scsi.LunOptions;
import java.util.Set;

/** Checks of a LUN's store options for providers' {@link BackingStoreProvider#validate}; messages name the field. */
public final class StoreOptions {

  private StoreOptions() {
  }

  /** Fails on any store option other than {@code allowed}. */
  public static void only(LunOptions lun, String where, String... allowed) {
    Set<String> ok = Set.of(allowed);
    for (String key : lun.storeOptions().fieldNames()) {
      if (!ok.contains(key)) {
        throw new IllegalArgumentException(where + "." + key + ": unknown field for \"backing\": \"" + lun.backing() + "\"");
      }
    }
  }

  /** The string option {@code key}, or null when absent. */
  public static String string(LunOptions lun, String where, String key) {
    Object v = lun.storeOptions().getValue(key);
    if (v != null && !(v instanceof String)) throw new IllegalArgumentException(where + "." + key + ": must be a string");
    return (String) v;
  }

  /** A required, non-blank string option. */
  public static String required(LunOptions lun, String where, String key, String what) {
    String v = string(lun, where, key);
    if (v == null || v.isBlank()) throw new IllegalArgumentException(where + "." + key + ": required (" + what + ")");
    return v;
  }

  /** The boolean option {@code key}, or {@code def}. */
  public static boolean bool(LunOptions lun, String where, String key, boolean def) {
    Object v = lun.storeOptions().getValue(key, def);
    if (!(v instanceof Boolean)) throw new IllegalArgumentException(where + "." + key + ": " + v + " is not true or false");
    return (Boolean) v;
  }

  /** Fails unless the LUN has a {@code size}. */
  public static void requireSize(LunOptions lun, String where) {
    if (lun.size() <= 0) throw new IllegalArgumentException(where + ".size: required (bytes, or a number with K, M, G or T)");
  }
}
