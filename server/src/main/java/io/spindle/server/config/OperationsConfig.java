package io.spindle.server.config;

import io.spindle.iscsi.datamover.PortalAddress;
import io.vertx.core.json.JsonObject;
import java.util.Set;

/**
 * Where the server is observed and driven from: the Prometheus endpoint ({@code "metrics"}), the
 * HTTP bridge to the admin API ({@code "admin"}), and how configuration reload behaves
 * ({@code "reload"}). These take effect at start; a reload that changes them logs that a restart
 * is needed.
 *
 * @param metricsAddress where {@code GET /metrics} is served, or null for no endpoint
 * @param admin the admin HTTP API, or null for none
 * @param watch whether the config file is watched for changes
 * @param scanIntervalMillis how often the watched file is checked
 * @param gracePeriodMillis how long sessions on a removed portal, target or LUN may keep running
 */
public record OperationsConfig(PortalAddress metricsAddress, AdminConfig admin, boolean watch,
    long scanIntervalMillis, long gracePeriodMillis) {

  public static final boolean DEFAULT_WATCH = true;
  public static final long DEFAULT_SCAN_INTERVAL_MILLIS = 2000;
  public static final long DEFAULT_GRACE_PERIOD_MILLIS = 10_000;

  public static OperationsConfig defaults() {
    return new OperationsConfig(null, null, DEFAULT_WATCH, DEFAULT_SCAN_INTERVAL_MILLIS, DEFAULT_GRACE_PERIOD_MILLIS);
  }

  /** Reads the {@code metrics}, {@code admin} and {@code reload} sections of the config (each optional). */
  static OperationsConfig fromJson(JsonObject root) {
    PortalAddress metrics = address(section(root, "metrics", Set.of("address")), "metrics");
    AdminConfig admin = AdminConfig.fromJson(root);
    JsonObject reload = section(root, "reload", Set.of("watch", "scanIntervalMillis", "gracePeriodMillis"));
    boolean watch = NegotiationOptions.bool(reload, "reload", "watch", DEFAULT_WATCH);
    long scan = NegotiationOptions.range(reload, "reload", "scanIntervalMillis", (int) DEFAULT_SCAN_INTERVAL_MILLIS,
        10, 3_600_000);
    long grace = NegotiationOptions.range(reload, "reload", "gracePeriodMillis", (int) DEFAULT_GRACE_PERIOD_MILLIS,
        0, 3_600_000);
    return new OperationsConfig(metrics, admin, watch, scan, grace);
  }

  void toJson(JsonObject root) {
    if (metricsAddress != null) root.put("metrics", new JsonObject().put("address", metricsAddress.toString()));
    if (admin != null) root.put("admin", admin.toJson());
    root.put("reload", new JsonObject().put("watch", watch).put("scanIntervalMillis", scanIntervalMillis)
        .put("gracePeriodMillis", gracePeriodMillis));
  }

  /** Where the admin HTTP API listens, or null when it is off. */
  public PortalAddress adminAddress() {
    return admin == null ? null : admin.address();
  }

  public OperationsConfig withMetricsAddress(PortalAddress a) {
    return new OperationsConfig(a, admin, watch, scanIntervalMillis, gracePeriodMillis);
  }

  /** The admin API at {@code a}, keeping the configured token and TLS settings. */
  public OperationsConfig withAdminAddress(PortalAddress a) {
    return withAdmin(admin == null ? AdminConfig.at(a) : admin.withAddress(a));
  }

  public OperationsConfig withAdmin(AdminConfig a) {
    return new OperationsConfig(metricsAddress, a, watch, scanIntervalMillis, gracePeriodMillis);
  }

  private static JsonObject section(JsonObject root, String key, Set<String> fields) {
    Object v = root.getValue(key);
    if (v == null) return new JsonObject();
    if (!(v instanceof JsonObject o)) throw new ConfigException(key + ": must be an object");
    for (String k : o.fieldNames()) {
      if (!fields.contains(k)) throw new ConfigException(key + "." + k + ": unknown field (known: " + fields + ")");
    }
    return o;
  }

  private static PortalAddress address(JsonObject section, String where) {
    Object a = section.getValue("address");
    if (a == null) return null;
    if (!(a instanceof String s)) throw new ConfigException(where + ".address: must be \"HOST:PORT\"");
    try {
      return PortalAddress.parse(s);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(where + ".address: " + e.getMessage());
    }
  }
}
