package io.spindle.server.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which files may become disks, for configuration that comes from a file or the admin HTTP API
 * (an embedding application that builds a {@link ServerConfig} in code is trusted, like the event
 * bus). A file LUN's {@code path} must lie under one of {@code storage.allowedDirectories}
 * (default {@value #DEFAULT_DIRECTORY}, the demo's data directory; symbolic links are followed
 * first, so a link cannot lead out); a device node needs {@code "blockDevice": true}; one file
 * backs one LUN (across all targets); an existing file whose length differs from {@code size} is
 * refused unless the LUN says {@code "resize": true}. LUNs serving unchanged are not checked again.
 *
 * <p>Blocking (stat calls): run it on a worker.
 */
public final class BackingPathPolicy {

  /** The data directory: where the demo keeps its LUN, relative to the working directory. */
  public static final String DEFAULT_DIRECTORY = "spindle-data";
  /** LUN fields this policy reads; the SCSI engine's LUN options do not know them. */
  public static final Set<String> LUN_FIELDS = Set.of("blockDevice", "resize");

  private BackingPathPolicy() {
  }

  /**
   * @param json the configuration as JSON (its {@code storage} and LUN entries)
   * @param running the configuration serving now, or null at start
   */
  public static void check(JsonObject json, ServerConfig running) {
    List<Path> allowed = allowedDirectories(json);
    Map<Path, String> owners = new HashMap<>();
    JsonArray targets = json.getValue("targets") instanceof JsonArray a ? a : new JsonArray();
    for (int i = 0; i < targets.size(); i++) {
      if (!(targets.getValue(i) instanceof JsonObject t) || !(t.getValue("luns") instanceof JsonArray luns)) continue;
      String name = t.getString("name");
      for (int j = 0; j < luns.size(); j++) {
        if (!(luns.getValue(j) instanceof JsonObject l)) continue;
        if (!"file".equals(l.getValue("backing", "file")) || !(l.getValue("path") instanceof String path)) continue;
        String where = "targets[" + i + "].luns[" + j + "]";
        Path real = real(Path.of(path), where);
        String previous = owners.putIfAbsent(real, where + " (" + name + " LUN " + l.getValue("lun", j) + ")");
        if (previous != null) {
          throw new ConfigException(where + ".path: " + path + " already backs " + previous
              + "; one file backs one LUN");
        }
        if (serving(running, name, l, j)) continue;
        checkLun(l, where, path, real, allowed);
      }
    }
  }

  private static void checkLun(JsonObject l, String where, String path, Path real, List<Path> allowed) {
    boolean device = flag(l, "blockDevice", where);
    boolean resize = flag(l, "resize", where);
    boolean exists = Files.exists(real);
    if (exists && !Files.isRegularFile(real)) {
      if (Files.isDirectory(real)) throw new ConfigException(where + ".path: " + path + " is a directory");
      if (!device) {
        throw new ConfigException(where + ".path: " + path + " is a device node, not a file; a LUN on a block"
            + " device must say \"blockDevice\": true");
      }
      return;
    }
    if (device) throw new ConfigException(where + ".blockDevice: " + path + " is not a device node");
    if (allowed.stream().noneMatch(real::startsWith)) {
      throw new ConfigException(where + ".path: " + path + " is outside the allowed directories " + allowed
          + " (storage.allowedDirectories)");
    }
    if (exists && !resize) {
      long size;
      try {
        size = Files.size(real);
        long want = io.spindle.scsi.LunOptions.parseSize(String.valueOf(l.getValue("size")), where + ".size");
        if (size != want) {
          throw new ConfigException(where + ".size: " + path + " exists with " + size + " bytes, not the " + want
              + " configured; say \"resize\": true to grow it to the configured size");
        }
      } catch (IOException e) {
        throw new ConfigException(where + ".path: cannot read the size of " + path + ": " + e.getMessage());
      } catch (IllegalArgumentException e) {
        throw new ConfigException(e.getMessage());
      }
    }
  }

  /** Whether the running configuration serves this LUN with the same options (it was checked then). */
  private static boolean serving(ServerConfig running, String target, JsonObject lun, int position) {
    if (running == null) return false;
    TargetConfig t = running.target(target);
    if (t == null) return false;
    Object n = lun.getValue("lun", position);
    if (!(n instanceof Number num)) return false;
    var options = t.luns().get(num.intValue());
    if (options == null) return false;
    try {
      JsonObject given = lun.copy();
      LUN_FIELDS.forEach(given::remove);
      given.remove("lun");
      return TargetConfig.lunJson(io.spindle.scsi.LunOptions.fromJson(given, "lun")).equals(TargetConfig.lunJson(options));
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  static List<Path> allowedDirectories(JsonObject json) {
    List<String> dirs = new ArrayList<>();
    Object storage = json.getValue("storage");
    Object v = storage instanceof JsonObject s ? s.getValue("allowedDirectories") : null;
    if (v == null) {
      dirs.add(DEFAULT_DIRECTORY);
    } else if (v instanceof JsonArray a && !a.isEmpty()) {
      for (int i = 0; i < a.size(); i++) {
        if (!(a.getValue(i) instanceof String d) || d.isBlank()) {
          throw new ConfigException("storage.allowedDirectories[" + i + "]: must be a directory path");
        }
        dirs.add(d);
      }
    } else {
      throw new ConfigException("storage.allowedDirectories: must be a non-empty list of directories");
    }
    List<Path> out = new ArrayList<>();
    for (int i = 0; i < dirs.size(); i++) out.add(real(Path.of(dirs.get(i)), "storage.allowedDirectories[" + i + "]"));
    return out;
  }

  /** The path with every existing part's symbolic links resolved, absolute and normalized. */
  static Path real(Path p, String where) {
    Path abs = p.toAbsolutePath().normalize();
    Path existing = abs;
    while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) existing = existing.getParent();
    if (existing == null) return abs;
    try {
      return existing.toRealPath().resolve(existing.relativize(abs)).normalize();
    } catch (IOException e) {
      throw new ConfigException(where + ": cannot resolve " + p + ": " + e.getMessage());
    }
  }

  private static boolean flag(JsonObject l, String key, String where) {
    Object v = l.getValue(key, false);
    if (!(v instanceof Boolean b)) throw new ConfigException(where + "." + key + ": must be true or false");
    return b;
  }
}
