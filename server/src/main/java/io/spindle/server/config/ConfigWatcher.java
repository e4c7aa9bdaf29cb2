package io.spindle.server.config;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
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
  private byte[] lastSeen;
  private long timer = -1;

  /**
   * @param overrides applied to every configuration read (the command line's {@code --portal},
   *     {@code --metrics}, {@code --admin} win over the file)
   * @param apply makes a valid configuration the running one; fails when it cannot
   */
  public ConfigWatcher(Vertx vertx, Path file, UnaryOperator<ServerConfig> overrides,
      Function<ServerConfig, Future<JsonObject>> apply) {
    this.vertx = vertx;
    this.file = file;
    this.overrides = overrides;
    this.apply = apply;
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
    try {
      JsonObject json;
      try {
        json = new JsonObject(text);
      } catch (DecodeException e) {
        throw new ConfigException("not valid JSON: " + e.getMessage());
      }
      next = overrides.apply(ServerConfig.fromJson(json));
    } catch (ConfigException e) {
      ops.error("reload rejected ({}): {}: {}; the running configuration stays", trigger, file, e.getMessage());
      return Future.failedFuture(new ConfigException(file + ": " + e.getMessage()));
    }
    return apply.apply(next).onFailure(e ->
        ops.error("reload rejected ({}): {}: {}; the running configuration stays", trigger, file, e.getMessage()));
  }

  /**
   * Calls {@code action} on SIGHUP, through {@code sun.misc.Signal} where the JDK has it (reflection
   * keeps the build free of the internal-API warning).
   *
   * @return false when signals are not available here (then only the file watch and the admin call reload)
   */
  public static boolean onHangup(Runnable action) {
    try {
      Class<?> signal = Class.forName("sun.misc.Signal");
      Class<?> handler = Class.forName("sun.misc.SignalHandler");
      InvocationHandler h = (proxy, method, args) -> {
        if (method.getDeclaringClass() == Object.class) {
          return switch (method.getName()) {
            case "hashCode" -> System.identityHashCode(proxy);
            case "equals" -> proxy == args[0];
            default -> "spindle SIGHUP handler";
          };
        }
        action.run();
        return null;
      };
      Object proxy = Proxy.newProxyInstance(handler.getClassLoader(), new Class<?>[] {handler}, h);
      Object hup = signal.getConstructor(String.class).newInstance("HUP");
      signal.getMethod("handle", signal, handler).invoke(null, hup, proxy);
      return true;
    } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
      ops.debug("SIGHUP not available: {}", e.toString());
      return false;
    }
  }

  private static byte[] sha256(Buffer b) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(b.getBytes());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is a required JDK algorithm", e);
    }
  }
}
