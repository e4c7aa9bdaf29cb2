package io.spindle.server.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;

/**
 * The config file as the admin API writes it back: an atomic replace (a temporary file beside it
 * written and fsynced, then renamed over it, then the directory fsynced), so a crash leaves either
 * the old file or the new one, never half of one; the previous content is kept as
 * {@code FILE.bak}. The new file keeps the old one's permissions (it may hold secrets). Blocking:
 * call it from a worker.
 */
public final class ConfigFile {

  /** Array entries are matched by these keys when a running config is merged into the file. */
  private static final List<String> KEYS = List.of("name", "lun", "address", "initiator");

  private final Path file;

  public ConfigFile(Path file) {
    this.file = file;
  }

  public Path file() {
    return file;
  }

  public Path backup() {
    return file.resolveSibling(file.getFileName() + ".bak");
  }

  public JsonObject read() {
    try {
      return new JsonObject(Files.readString(file));
    } catch (IOException e) {
      throw new ConfigException(file + ": cannot read: " + e.getMessage());
    } catch (RuntimeException e) {
      throw new ConfigException(file + ": not valid JSON: " + e.getMessage());
    }
  }

  /** Replaces the file with {@code json} (pretty-printed); the old content becomes {@link #backup()}. */
  public byte[] write(JsonObject json) throws IOException {
    byte[] bytes = (json.encodePrettily() + "\n").getBytes(StandardCharsets.UTF_8);
    Path dir = file.toAbsolutePath().getParent();
    Set<PosixFilePermission> mode = null;
    try {
      mode = Files.getPosixFilePermissions(file);
    } catch (UnsupportedOperationException | IOException e) {
      // A new file, or no POSIX permissions here: the defaults.
    }
    Path tmp = dir.resolve("." + file.getFileName() + ".tmp");
    Files.deleteIfExists(tmp);
    if (mode != null) Files.createFile(tmp, PosixFilePermissions.asFileAttribute(mode));
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ch.write(java.nio.ByteBuffer.wrap(bytes));
      ch.force(true);
    }
    if (Files.exists(file)) {
      Files.copy(file, backup(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
    }
    try {
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
    }
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true); // the rename itself survives a crash
    } catch (IOException e) {
      // Some file systems cannot open a directory; the rename is still atomic.
    }
    return bytes;
  }

  /**
   * {@code running} laid over {@code file}: values of the running configuration win, and what only
   * the file says (fields the running configuration does not carry, such as
   * {@code storage.allowedDirectories} or a LUN's {@code resize}) stays. Array entries are matched by
   * name, LUN number, address or initiator.
   */
  public static JsonObject merge(JsonObject file, JsonObject running) {
    JsonObject out = file.copy();
    for (String k : running.fieldNames()) {
      Object r = running.getValue(k);
      Object f = file.getValue(k);
      if (r instanceof JsonObject ro && f instanceof JsonObject fo) out.put(k, merge(fo, ro));
      else if (r instanceof JsonArray ra && f instanceof JsonArray fa) out.put(k, merge(fa, ra));
      else out.put(k, r);
    }
    return out;
  }

  private static JsonArray merge(JsonArray file, JsonArray running) {
    JsonArray out = new JsonArray();
    for (Object r : running) {
      Object match = null;
      if (r instanceof JsonObject ro) {
        for (Object f : file) {
          if (f instanceof JsonObject fo && sameEntry(fo, ro)) match = f;
        }
      }
      out.add(match == null ? r : merge((JsonObject) match, (JsonObject) r));
    }
    return out;
  }

  private static boolean sameEntry(JsonObject a, JsonObject b) {
    for (String k : KEYS) {
      if (a.containsKey(k) || b.containsKey(k)) {
        Object x = a.getValue(k);
        Object y = b.getValue(k);
        return x != null && y != null && (x.equals(y) || x instanceof Number n && y instanceof Number m
            && n.longValue() == m.longValue());
      }
    }
    return false;
  }
}
