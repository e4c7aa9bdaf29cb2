package io.spindle.server;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * POSIX signal handlers through {@code sun.misc.Signal} where the JDK has it (reflection keeps the
 * build free of the internal-API warning). A handler replaces the JVM's default action: SIGTERM and
 * SIGINT no longer start the JVM's shutdown (which would exit 143 / 130), SIGHUP no longer stops it.
 */
final class Signals {

  private static final Logger log = LoggerFactory.getLogger(Signals.class);

  private Signals() {
  }

  /**
   * Calls {@code action} on a thread of the JVM's signal dispatcher each time {@code name} ("TERM",
   * "INT", "HUP") arrives.
   *
   * @return false when signals cannot be handled here
   */
  static boolean handle(String name, Runnable action) {
    try {
      Class<?> signal = Class.forName("sun.misc.Signal");
      Class<?> handler = Class.forName("sun.misc.SignalHandler");
      InvocationHandler h = (proxy, method, args) -> {
        if (method.getDeclaringClass() == Object.class) {
          return switch (method.getName()) {
            case "hashCode" -> System.identityHashCode(proxy);
            case "equals" -> proxy == args[0];
            default -> "spindle SIG" + name + " handler";
          };
        }
        action.run();
        return null;
      };
      Object proxy = Proxy.newProxyInstance(handler.getClassLoader(), new Class<?>[] {handler}, h);
      Object sig = signal.getConstructor(String.class).newInstance(name);
      signal.getMethod("handle", signal, handler).invoke(null, sig, proxy);
      return true;
    } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
      log.debug("SIG{} cannot be handled here: {}", name, e.toString());
      return false;
    }
  }
}
