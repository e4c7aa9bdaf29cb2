package io.spindle.scsi;

import io.spindle.scsi.spi.store.BackingStoreProvider;
import io.spindle.scsi.spi.store.BackingStoreProviders;
import io.vertx.core.json.JsonObject;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * How a logical unit is backed and what it reports. Parsed from the {@code luns[]} entries of
 * the JSON config; every parse error names the field ({@code targets[0].luns[1].size: ...}).
 * The fields below are common to every LUN; every other key of the entry is a store option,
 * checked by the {@link BackingStoreProvider} that {@code backing} names.
 */
public final class LunOptions {

  /** The config keys every LUN entry may have, whatever its backing. */
  public static final Set<String> COMMON_FIELDS = Set.of("lun", "backing", "size", "blockSize", "readOnly",
      "removable", "thin", "vendor", "product", "serial");

  public static final String DEFAULT_BACKING = "file";
  public static final int DEFAULT_BLOCK_SIZE = 512;
  public static final String DEFAULT_VENDOR = "SPINDLE";
  public static final String DEFAULT_PRODUCT = "Spindle LUN";

  private String backing = DEFAULT_BACKING;
  private JsonObject storeOptions = new JsonObject();
  private long size;
  private int blockSize = DEFAULT_BLOCK_SIZE;
  private boolean readOnly;
  private boolean removable;
  private boolean thin = true;
  private String vendor = DEFAULT_VENDOR;
  private String product = DEFAULT_PRODUCT;
  private String serial;

  public static LunOptions file(String path, long size) {
    return new LunOptions().backing("file").path(path).size(size);
  }

  public static LunOptions memory(long size) {
    return new LunOptions().backing("memory").size(size);
  }

  /**
   * Parses one LUN entry. {@code where} is the JSON path of the entry, used in error messages.
   *
   * @throws IllegalArgumentException naming the field and the problem
   */
  public static LunOptions fromJson(JsonObject json, String where) {
    LunOptions o = new LunOptions();
    Object backing = json.getValue("backing", DEFAULT_BACKING);
    if (!(backing instanceof String)) throw new IllegalArgumentException(where + ".backing: must be a string");
    o.backing = (String) backing;
    BackingStoreProvider provider = BackingStoreProviders.find(o.backing);
    if (provider == null) {
      throw new IllegalArgumentException(where + ".backing: \"" + backing + "\" is not one of "
          + BackingStoreProviders.names());
    }
    for (String key : json.fieldNames()) {
      if (!COMMON_FIELDS.contains(key)) o.storeOptions.put(key, json.getValue(key));
    }
    Object size = json.getValue("size");
    if (size != null) o.size = parseSize(size.toString(), where + ".size");
    Object bs = json.getValue("blockSize", DEFAULT_BLOCK_SIZE);
    if (!(bs instanceof Integer)) throw new IllegalArgumentException(where + ".blockSize: " + bs + " is not 512 or 4096");
    o.blockSize = (Integer) bs;
    if (o.blockSize != 512 && o.blockSize != 4096) {
      throw new IllegalArgumentException(where + ".blockSize: " + o.blockSize + " is not 512 or 4096");
    }
    if (size != null && (o.size < o.blockSize || o.size % o.blockSize != 0)) {
      throw new IllegalArgumentException(where + ".size: " + o.size + " is not a positive multiple of the block size "
          + o.blockSize);
    }
    o.readOnly = bool(json, "readOnly", false, where);
    o.removable = bool(json, "removable", false, where);
    o.thin = bool(json, "thin", true, where);
    o.vendor = checkAscii(text(json, "vendor", DEFAULT_VENDOR, where), 8, where + ".vendor");
    o.product = checkAscii(text(json, "product", DEFAULT_PRODUCT, where), 16, where + ".product");
    o.serial = text(json, "serial", null, where);
    if (o.serial != null) {
      checkAscii(o.serial, 64, where + ".serial");
      if (o.serial.isBlank()) throw new IllegalArgumentException(where + ".serial: must not be blank");
    }
    provider.validate(o, where);
    return o;
  }

  private static boolean bool(JsonObject json, String key, boolean def, String where) {
    Object v = json.getValue(key, def);
    if (!(v instanceof Boolean)) throw new IllegalArgumentException(where + "." + key + ": " + v + " is not true or false");
    return (Boolean) v;
  }

  private static String text(JsonObject json, String key, String def, String where) {
    Object v = json.getValue(key, def);
    if (v != null && !(v instanceof String)) throw new IllegalArgumentException(where + "." + key + ": must be a string");
    return (String) v;
  }

  /** "1073741824", "1G", "512M", "64k": binary multiples. */
  public static long parseSize(String text, String where) {
    String t = text.trim().toUpperCase(Locale.ROOT);
    long mult = 1;
    if (t.endsWith("IB")) t = t.substring(0, t.length() - 2);
    else if (t.endsWith("B") && t.length() > 1 && !Character.isDigit(t.charAt(t.length() - 2))) t = t.substring(0, t.length() - 1);
    if (!t.isEmpty()) {
      switch (t.charAt(t.length() - 1)) {
        case 'K': mult = 1L << 10; break;
        case 'M': mult = 1L << 20; break;
        case 'G': mult = 1L << 30; break;
        case 'T': mult = 1L << 40; break;
        default: mult = 1;
      }
      if (mult != 1) t = t.substring(0, t.length() - 1);
    }
    try {
      long v = Long.parseLong(t.trim());
      if (v <= 0) throw new NumberFormatException();
      return Math.multiplyExact(v, mult);
    } catch (NumberFormatException | ArithmeticException e) {
      throw new IllegalArgumentException(where + ": \"" + text + "\" is not a size (bytes, or a number with K, M, G or T)");
    }
  }

  private static String checkAscii(String s, int max, String where) {
    if (s.length() > max || !s.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
      throw new IllegalArgumentException(where + ": \"" + s + "\" must be printable ASCII of at most " + max + " characters");
    }
    return s;
  }

  /** The {@link BackingStoreProvider#name()} of the store: {@code file}, {@code memory}, {@code null}, ... */
  public String backing() {
    return backing;
  }

  public LunOptions backing(String b) {
    this.backing = Objects.requireNonNull(b);
    return this;
  }

  /** The entry's keys that are not {@link #COMMON_FIELDS}: the store's own options (a copy). */
  public JsonObject storeOptions() {
    return storeOptions.copy();
  }

  /** Sets one store option ({@code "path"}, {@code "pool"}, ...). */
  public LunOptions storeOption(String key, Object value) {
    if (COMMON_FIELDS.contains(key)) throw new IllegalArgumentException(key + ": a common LUN field, not a store option");
    if (value == null) storeOptions.remove(key);
    else storeOptions.put(key, value);
    return this;
  }

  /** The {@code path} store option of a file LUN, or null. */
  public String path() {
    Object p = storeOptions.getValue("path");
    return p instanceof String s ? s : null;
  }

  public LunOptions path(String p) {
    return storeOption("path", p);
  }

  /** Capacity in bytes; 0 when not configured (a store that knows its own size, such as an RBD image). */
  public long size() {
    return size;
  }

  public LunOptions size(long s) {
    this.size = s;
    return this;
  }

  public int blockSize() {
    return blockSize;
  }

  public LunOptions blockSize(int b) {
    this.blockSize = b;
    return this;
  }

  public boolean readOnly() {
    return readOnly;
  }

  public LunOptions readOnly(boolean r) {
    this.readOnly = r;
    return this;
  }

  /**
   * Removable medium (SBC-4 4.17): INQUIRY RMB=1, START STOP UNIT ejects and loads, PREVENT
   * ALLOW MEDIUM REMOVAL is honoured, and media access fails with MEDIUM NOT PRESENT while ejected.
   */
  public boolean removable() {
    return removable;
  }

  public LunOptions removable(boolean r) {
    this.removable = r;
    return this;
  }

  /**
   * Thin provisioning (SBC-4 4.7.3): default true; UNMAP and WRITE SAME with UNMAP deallocate.
   * False preallocates a file store and reports a fully provisioned LU (LBPME=0).
   */
  public boolean thin() {
    return thin;
  }

  public LunOptions thin(boolean t) {
    this.thin = t;
    return this;
  }

  public String vendor() {
    return vendor;
  }

  public LunOptions vendor(String v) {
    this.vendor = checkAscii(Objects.requireNonNull(v), 8, "vendor");
    return this;
  }

  public String product() {
    return product;
  }

  public LunOptions product(String p) {
    this.product = checkAscii(Objects.requireNonNull(p), 16, "product");
    return this;
  }

  /** Unit serial number; when null the engine derives a stable one from the backing path or target name. */
  public String serial() {
    return serial;
  }

  public LunOptions serial(String s) {
    this.serial = s;
    return this;
  }
}
