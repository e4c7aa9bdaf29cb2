package io.spindle.server.config;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads the configuration file when it changes (a periodic stat and SHA-256 of the content, so
 * it works on every file system and with editors that replace the file), on SIGHUP, and on demand
 * ({@link #reload}). A new file that does not parse or validate is rejected as a whole with a log
 * line naming the problem; the running configuration stays.
 */
public final class ConfigWatcher {

  private static final Logger ops = LoggerFactory.getLogger("io.spindle.ops");

  private final Vertx vertx;
  private final Path file;
  private final UnaryOperator<ServerConfig> overrides;
  private final Function<ServerConfig, Future<JsonObject>> apply;
  private final Consumer<JsonObject> check;
  private byte[] lastSeen;
  private long timer = -1;

  /**
   * @param overrides applied to every configuration read (the command line's {@code --portal},
   *     {@code --metrics}, {@code --admin} win over the file)
   * @param apply makes a valid configuration the running one; fails when it cannot
   */
  public ConfigWatcher(Vertx vertx, Path file, UnaryOperator<ServerConfig> overrides,
      Function<ServerConfig, Future<JsonObject>> apply) {
    this(vertx, file, overrides, apply, json -> { });
  }

  /**
   * @param check validates the file's JSON beyond parsing (such as {@link BackingPathPolicy}); runs
   *     on a worker, throws {@link ConfigException} to reject the file
   */
  public ConfigWatcher(Vertx vertx, Path file, UnaryOperator<ServerConfig> overrides,
      Function<ServerConfig, Future<JsonObject>> apply, Consumer<JsonObject> check) {
    this.vertx = vertx;
    this.file = file;
    this.overrides = overrides;
    this.apply = apply;
    this.check = check;
  }

  /** The running configuration that {@code json} (the file's content) stands for: parsed, with the overrides. */
  public ServerConfig parse(JsonObject json) {
    return overrides.apply(ServerConfig.fromJson(json));
  }

  /** The file now holds {@code content}, already applied (the admin API wrote it): no reload for it. */
  public synchronized void applied(byte[] content) {
    lastSeen = sha256(Buffer.buffer(content));
  }

  public Path file() {
    return file;
  }

  /** Starts watching: the file's current content counts as applied. */
  public Future<Void> start(long scanIntervalMillis) {
    return vertx.fileSystem().readFile(file.toString()).map(b -> {
      synchronized (this) {
        lastSeen = sha256(b);
        timer = vertx.setPeriodic(scanIntervalMillis, id -> scan());
      }
      return null;
    });
  }

  public synchronized void stop() {
    if (timer >= 0) vertx.cancelTimer(timer);
    timer = -1;
  }

  private void scan() {
    vertx.fileSystem().readFile(file.toString()).onComplete(ar -> {
      if (ar.failed()) {
        // A file being replaced may be missing for a moment; the next scan sees the new one.
        return;
      }
      byte[] h = sha256(ar.result());
      synchronized (this) {
        if (Arrays.equals(h, lastSeen)) return;
        lastSeen = h;
      }
      ops.info("reload: {} changed", file);
      applyText(ar.result(), "file change");
    });
  }

  /** Reads and applies the file now, changed or not (SIGHUP, {@code spindle.admin.reload}). */
  public Future<JsonObject> reload(String trigger) {
    ops.info("reload ({}): reading {}", trigger, file);
    return vertx.fileSystem().readFile(file.toString())
        .recover(e -> Future.failedFuture(new ConfigException(file + ": cannot read: " + e.getMessage())))
        .compose(b -> {
          synchronized (this) {
            lastSeen = sha256(b);
          }
          return applyText(b, trigger);
        });
  }

  private Future<JsonObject> applyText(Buffer text, String trigger) {
    ServerConfig next;
    JsonObject json;
    try {
      try {
        json = new JsonObject(text);
      } catch (DecodeException e) {
        throw new ConfigException("not valid JSON: " + e.getMessage());
      }
      next = parse(json);
    } catch (ConfigException e) {
      ops.error("reload rejected ({}): {}: {}; the running configuration stays", trigger, file, e.getMessage());
      return Future.failedFuture(new ConfigException(file + ": " + e.getMessage()));
    }
    return vertx.executeBlocking(() -> {
      check.accept(json);
      return next;
    }).recover(e -> Future.failedFuture(e instanceof ConfigException ? new ConfigException(file + ": " + e.getMessage()) : e))
        .compose(apply).onFailure(e ->
            ops.error("reload rejected ({}): {}: {}; the running configuration stays", trigger, file, e.getMessage()));
  }

  private static byte[] sha256(Buffer b) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(b.getBytes());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is a required JDK algorithm", e);
    }
  }
}
