package io.spindle.server.config;

import io.spindle.iscsi.datamover.PortalAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One port, one listener: a portal, the metrics endpoint and the admin API never share an
 * address. Port 0 (any free port) never collides; {@code 0.0.0.0} or {@code ::} on a port
 * collides with every address on that port. Checked at start, on every reload and admin change.
 */
public final class Listeners {

  private Listeners() {
  }

  /**
   * The first collision among the portals and the server's other listeners, as a message naming
   * both, or null.
   *
   * @param bound addresses already taken by listeners of ours, by name (for example the admin API
   *     started on port 0 and bound elsewhere); may be empty
   */
  public static String collision(List<PortalConfig> portals, OperationsConfig operations,
      Map<String, PortalAddress> bound) {
    return collision(portals, configured(operations, null), bound);
  }

  /** The metrics, admin API and cluster (Hazelcast member, event bus) addresses configured, by field name. */
  public static Map<String, PortalAddress> configured(OperationsConfig operations, ClusterConfig cluster) {
    Map<String, PortalAddress> m = new java.util.LinkedHashMap<>();
    if (operations.metricsAddress() != null) m.put("metrics.address", operations.metricsAddress());
    if (operations.adminAddress() != null) m.put("admin.address", operations.adminAddress());
    if (cluster != null) {
      m.put("cluster.address", cluster.address());
      m.put("cluster.eventBusAddress", cluster.eventBus());
    }
    return m;
  }

  /**
   * @param configured the other listeners as configured, by field name ({@link #configured})
   * @param bound where some of them actually listen (port 0 resolved); compared with the portals only
   */
  public static String collision(List<PortalConfig> portals, Map<String, PortalAddress> configured,
      Map<String, PortalAddress> bound) {
    List<Map.Entry<String, PortalAddress>> all = new ArrayList<>();
    bound.forEach((name, a) -> all.add(Map.entry(name, a)));
    configured.forEach((name, a) -> all.add(Map.entry(name, a)));
    for (int i = 0; i < portals.size(); i++) all.add(Map.entry("portals[" + i + "].address", portals.get(i).address()));
    int firstPortal = all.size() - portals.size();
    for (int i = 0; i < all.size(); i++) {
      for (int j = i + 1; j < all.size(); j++) {
        // A bound address and a configured one may be the same listener: only portals meet bound ones.
        if (i < bound.size() && j < firstPortal) continue;
        PortalAddress a = all.get(i).getValue();
        PortalAddress b = all.get(j).getValue();
        if (collide(a, b)) {
          return all.get(j).getKey() + ": " + b + " collides with " + all.get(i).getKey() + " " + a
              + " (each listener needs its own port; 0.0.0.0 takes the port on every address)";
        }
      }
    }
    return null;
  }

  /** Throws the {@link #collision} of {@code config}'s listeners as a {@link ConfigException}. */
  public static void check(ServerConfig config) {
    String c = collision(config.portals(), configured(config.operations(), config.cluster()), Map.of());
    if (c != null) throw new ConfigException(c);
  }

  static boolean collide(PortalAddress a, PortalAddress b) {
    if (a.port() == 0 || a.port() != b.port()) return false;
    String x = host(a);
    String y = host(b);
    return wildcard(x) || wildcard(y) || x.equalsIgnoreCase(y) || sameLiteral(x, y);
  }

  private static String host(PortalAddress a) {
    return a.host().replace("[", "").replace("]", "");
  }

  private static boolean wildcard(String h) {
    return h.equals("0.0.0.0") || h.equals("::") || h.equals("0:0:0:0:0:0:0:0");
  }

  /** Two spellings of one IP literal ({@code ::1} and {@code 0:0:0:0:0:0:0:1}); host names are compared as written. */
  private static boolean sameLiteral(String x, String y) {
    if (!literal(x) || !literal(y)) return false;
    try {
      return java.net.InetAddress.getByName(x).equals(java.net.InetAddress.getByName(y));
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  private static boolean literal(String h) {
    return h.contains(":") || h.matches("\\d{1,3}(\\.\\d{1,3}){3}");
  }
}
