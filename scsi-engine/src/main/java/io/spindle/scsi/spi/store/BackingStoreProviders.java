package io.spindle.scsi.spi.store;

import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/** The providers on the class path, by {@link BackingStoreProvider#name()}. */
public final class BackingStoreProviders {

  private static volatile Map<String, BackingStoreProvider> byName;

  private BackingStoreProviders() {
  }

  private static Map<String, BackingStoreProvider> all() {
    Map<String, BackingStoreProvider> m = byName;
    if (m == null) {
      m = new TreeMap<>();
      for (BackingStoreProvider p : ServiceLoader.load(BackingStoreProvider.class, BackingStoreProvider.class.getClassLoader())) {
        m.putIfAbsent(p.name(), p);
      }
      byName = m;
    }
    return m;
  }

  /** The provider for {@code backing}, or null. */
  public static BackingStoreProvider find(String backing) {
    return all().get(backing);
  }

  /** The names, for messages: "file, memory, null, rbd". */
  public static String names() {
    return String.join(", ", all().keySet());
  }
}
