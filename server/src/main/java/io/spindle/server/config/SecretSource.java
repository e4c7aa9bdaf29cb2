package io.spindle.server.config;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Where a secret comes from: written inline in the config ({@code "secret"}), a file
 * ({@code {"file": PATH}}, relative to the config file's directory) or an environment variable
 * ({@code {"env": NAME}}). A secret file readable by group or others is refused, as ssh refuses a
 * private key others can read: the secret would already be out.
 *
 * <p>The source, not the value, is what goes back into a saved config; {@link #toString()} never
 * shows a value.
 */
public record SecretSource(String inline, Path file, String env) {

  private static final Set<String> FIELDS = Set.of("file", "env");
  private static final Set<PosixFilePermission> TOO_OPEN = Set.of(PosixFilePermission.GROUP_READ,
      PosixFilePermission.OTHERS_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_WRITE);

  /** The environment secrets are read from; tests replace it. */
  static volatile Function<String, String> environment = System::getenv;
  /** What relative secret files are relative to: the config file's directory (set by main), else the working directory. */
  private static volatile Path base = Path.of("");

  /** Relative secret and certificate files are taken relative to {@code dir} from now on. */
  public static void base(Path dir) {
    base = dir == null ? Path.of("") : dir;
  }

  /** {@code p} relative to the config file's directory (see {@link #base(Path)}). */
  public static Path resolve(Path p) {
    return p.isAbsolute() ? p : base.resolve(p);
  }

  public static SecretSource ofFile(Path file) {
    return new SecretSource(null, file, null);
  }

  /**
   * Reads {@code value} at {@code where}: a string is the secret itself; an object names a file or a
   * variable. A relative file is read relative to the config file's directory, and kept as written.
   */
  public static SecretSource fromJson(Object value, String where) {
    if (value instanceof String s) return new SecretSource(s, null, null);
    if (!(value instanceof JsonObject j) || j.size() != 1) {
      throw new ConfigException(where + ": must be a string, {\"file\": PATH} or {\"env\": NAME}");
    }
    for (String k : j.fieldNames()) {
      if (!FIELDS.contains(k)) throw new ConfigException(where + "." + k + ": unknown field (known: " + FIELDS + ")");
    }
    if (j.getValue("file") instanceof String f && !f.isBlank()) {
      return new SecretSource(null, Path.of(f), null);
    }
    if (j.getValue("env") instanceof String e && !e.isBlank()) return new SecretSource(null, null, e);
    throw new ConfigException(where + ": \"file\" or \"env\" must be a non-empty string");
  }

  /** The secret's value; for a file, its content without the trailing line break. */
  public String read(String where) {
    if (inline != null) return inline;
    if (env != null) {
      String v = environment.apply(env);
      if (v == null || v.isEmpty()) throw new ConfigException(where + ": environment variable " + env + " is not set");
      return v;
    }
    Path file = resolve(this.file);
    try {
      Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
      for (PosixFilePermission p : TOO_OPEN) {
        if (perms.contains(p)) {
          throw new ConfigException(where + ": " + file + " is readable or writable by group or others (mode "
              + java.nio.file.attribute.PosixFilePermissions.toString(perms) + "); chmod 600 " + file);
        }
      }
    } catch (UnsupportedOperationException e) {
      // Not a POSIX file system: nothing to check.
    } catch (IOException e) {
      throw new ConfigException(where + ": cannot read " + file + ": " + e.getMessage());
    }
    try {
      String s = Files.readString(file, StandardCharsets.UTF_8);
      s = s.endsWith("\r\n") ? s.substring(0, s.length() - 2) : s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
      if (s.isEmpty()) throw new ConfigException(where + ": " + file + " is empty");
      return s;
    } catch (IOException e) {
      throw new ConfigException(where + ": cannot read " + file + ": " + e.getMessage());
    }
  }

  /** As config JSON: the inline string (or {@code redacted}), or the file / variable reference. */
  public Object toJson(boolean withSecret, String redacted) {
    if (inline != null) return withSecret ? inline : redacted;
    return file != null ? new JsonObject(Map.of("file", file.toString())) : new JsonObject(Map.of("env", env));
  }

  @Override
  public String toString() {
    return inline != null ? "SecretSource[inline]" : file != null ? "SecretSource[file " + file + "]"
        : "SecretSource[env " + env + "]";
  }
}
