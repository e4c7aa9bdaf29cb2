package io.spindle.server.config;

import io.spindle.iscsi.datamover.PortalAddress;
import io.spindle.scsi.LunOptions;
import io.spindle.scsi.ScsiEngine;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The whole server configuration (one JSON file; see README "Configuration"). Parsing validates
 * everything before anything starts: a bad value is a {@link ConfigException} naming its field.
 */
public record ServerConfig(List<PortalConfig> portals, List<TargetConfig> targets, NegotiationOptions negotiation,
    int storageWorkerThreads, OperationsConfig operations, DiscoveryConfig discovery, LoginLimits login,
    ClusterConfig cluster) {

  public static final String DEMO_TARGET = "iqn.2026-11.io.spindle:demo";
  public static final String DEMO_PORTAL = "0.0.0.0:3260";
  public static final long DEMO_LUN_SIZE = 1L << 30;
  public static final String DEMO_LUN_PATH = "spindle-data/demo-lun0.img";

  private static final Set<String> FIELDS = Set.of("portals", "targets", "negotiation", "storage", "metrics", "admin",
      "reload", "discovery", "login", "cluster");

  /** A standalone configuration (no {@code "cluster"} section). */
  public ServerConfig(List<PortalConfig> portals, List<TargetConfig> targets, NegotiationOptions negotiation,
      int storageWorkerThreads, OperationsConfig operations, DiscoveryConfig discovery, LoginLimits login) {
    this(portals, targets, negotiation, storageWorkerThreads, operations, discovery, login, null);
  }

  /** A configuration with open discovery and the default login limits. */
  public ServerConfig(List<PortalConfig> portals, List<TargetConfig> targets, NegotiationOptions negotiation,
      int storageWorkerThreads, OperationsConfig operations) {
    this(portals, targets, negotiation, storageWorkerThreads, operations, DiscoveryConfig.open(), LoginLimits.defaults());
  }

  /** A configuration with the default metrics, admin and reload settings. */
  public ServerConfig(List<PortalConfig> portals, List<TargetConfig> targets, NegotiationOptions negotiation,
      int storageWorkerThreads) {
    this(portals, targets, negotiation, storageWorkerThreads, OperationsConfig.defaults());
  }

  /** The built-in demo: one target, LUN 0 a 1 GiB sparse file under ./spindle-data, portal 0.0.0.0:3260. */
  public static ServerConfig demo() {
    LunOptions lun0 = LunOptions.file(DEMO_LUN_PATH, DEMO_LUN_SIZE);
    return new ServerConfig(
        List.of(new PortalConfig(PortalAddress.parse(DEMO_PORTAL), PortalConfig.DEFAULT_TRANSPORT,
            PortalConfig.DEFAULT_PORTAL_GROUP_TAG, new JsonObject())),
        List.of(new TargetConfig(DEMO_TARGET, "demo", Map.of(0, lun0))),
        NegotiationOptions.defaults(), ScsiEngine.DEFAULT_WORKER_THREADS);
  }

  public static ServerConfig load(Path file) {
    String text;
    try {
      text = Files.readString(file);
    } catch (IOException e) {
      throw new ConfigException(file + ": cannot read: " + e.getMessage());
    }
    JsonObject json;
    try {
      json = new JsonObject(text);
    } catch (DecodeException e) {
      throw new ConfigException(file + ": not valid JSON: " + e.getMessage());
    }
    try {
      return fromJson(json);
    } catch (ConfigException e) {
      throw new ConfigException(file + ": " + e.getMessage());
    }
  }

  public static ServerConfig fromJson(JsonObject j) {
    for (String k : j.fieldNames()) {
      if (!FIELDS.contains(k)) throw new ConfigException(k + ": unknown field (known: " + FIELDS + ")");
    }
    List<PortalConfig> portals = new ArrayList<>();
    JsonArray pa = array(j, "portals");
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < pa.size(); i++) {
      PortalConfig p = PortalConfig.fromJson(object(pa, i, "portals"), "portals[" + i + "]");
      if (!seen.add(p.address().toString())) {
        throw new ConfigException("portals[" + i + "].address: " + p.address() + " is listed twice");
      }
      portals.add(p);
    }
    if (portals.isEmpty()) throw new ConfigException("portals: at least one portal is required");
    List<TargetConfig> targets = new ArrayList<>();
    JsonArray ta = array(j, "targets");
    Set<String> names = new HashSet<>();
    for (int i = 0; i < ta.size(); i++) {
      TargetConfig t = TargetConfig.fromJson(object(ta, i, "targets"), "targets[" + i + "]");
      if (!names.add(t.name())) throw new ConfigException("targets[" + i + "].name: " + t.name() + " is listed twice");
      targets.add(t);
    }
    Object neg = j.getValue("negotiation");
    if (neg != null && !(neg instanceof JsonObject)) throw new ConfigException("negotiation: must be an object");
    NegotiationOptions negotiation = NegotiationOptions.fromJson(neg == null ? new JsonObject() : (JsonObject) neg,
        "negotiation");
    Object storage = j.getValue("storage");
    if (storage != null && !(storage instanceof JsonObject)) throw new ConfigException("storage: must be an object");
    JsonObject sj = storage == null ? new JsonObject() : (JsonObject) storage;
    for (String k : sj.fieldNames()) {
      // allowedDirectories is BackingPathPolicy's, checked where configuration comes from a file or the admin API.
      if (!k.equals("workerThreads") && !k.equals("allowedDirectories")) {
        throw new ConfigException("storage." + k + ": unknown field (known: [workerThreads, allowedDirectories])");
      }
    }
    int workers = NegotiationOptions.range(sj, "storage", "workerThreads", ScsiEngine.DEFAULT_WORKER_THREADS, 1, 1024);
    return new ServerConfig(List.copyOf(portals), List.copyOf(targets), negotiation, workers,
        OperationsConfig.fromJson(j), DiscoveryConfig.fromJson(j), LoginLimits.fromJson(j), ClusterConfig.fromJson(j));
  }

  /** The configuration as the JSON {@link #fromJson} reads; {@code fromJson(c.toJson())} equals {@code c}'s meaning. */
  public JsonObject toJson() {
    return toJson(true);
  }

  /** The configuration as JSON; without secrets, every CHAP secret reads "(redacted)" (for showing it). */
  public JsonObject toJson(boolean withSecrets) {
    JsonArray ps = new JsonArray();
    portals.forEach(p -> ps.add(p.toJson()));
    JsonArray ts = new JsonArray();
    targets.forEach(t -> ts.add(t.toJson(withSecrets)));
    JsonObject j = new JsonObject().put("portals", ps).put("targets", ts).put("negotiation", negotiation.toJson())
        .put("storage", new JsonObject().put("workerThreads", storageWorkerThreads))
        .put("discovery", discovery.toJson(withSecrets)).put("login", login.toJson());
    operations.toJson(j);
    if (cluster != null) j.put("cluster", cluster.toJson());
    return j;
  }

  public ServerConfig withOperations(OperationsConfig o) {
    return new ServerConfig(portals, targets, negotiation, storageWorkerThreads, o, discovery, login, cluster);
  }

  /** The same configuration with its portals replaced (the --portal option). */
  public ServerConfig withPortals(List<PortalConfig> replacement) {
    return new ServerConfig(List.copyOf(replacement), targets, negotiation, storageWorkerThreads, operations,
        discovery, login, cluster);
  }

  public ServerConfig withNegotiation(NegotiationOptions n) {
    return new ServerConfig(portals, targets, n, storageWorkerThreads, operations, discovery, login, cluster);
  }

  public ServerConfig withLogin(LoginLimits l) {
    return new ServerConfig(portals, targets, negotiation, storageWorkerThreads, operations, discovery, l, cluster);
  }

  /** The target named {@code name}, or null. */
  public TargetConfig target(String name) {
    for (TargetConfig t : targets) {
      if (t.name().equals(name)) return t;
    }
    return null;
  }

  private static JsonArray array(JsonObject j, String key) {
    Object v = j.getValue(key);
    if (v == null) return new JsonArray();
    if (!(v instanceof JsonArray a)) throw new ConfigException(key + ": must be a list");
    return a;
  }

  private static JsonObject object(JsonArray a, int i, String where) {
    if (!(a.getValue(i) instanceof JsonObject o)) throw new ConfigException(where + "[" + i + "]: must be an object");
    return o;
  }
}
