package io.spindle.server.config;

import io.spindle.cluster.ClusterOptions;
import io.spindle.iscsi.datamover.PortalAddress;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The top-level {@code "cluster"} section (README "Cluster"): with it the process is a member of a
 * Spindle cluster (embedded Hazelcast, clustered Vert.x event bus, ERL 2 state replicated); without
 * it the server is standalone and loads no cluster classes.
 *
 * <pre>
 * "cluster": { "name": "spindle", "node": "node-a", "address": "127.0.0.11:5701",
 *              "members": ["127.0.0.11:5701", "127.0.0.12:5701"], "eventBusAddress": "127.0.0.11:0" }
 * </pre>
 *
 * @param address the Hazelcast member's bind address (a port is required: no default, no auto-increment)
 * @param members the TCP-IP join list (this node's address may be in it)
 * @param eventBus the clustered event bus address; default the member's host, port 0 (any free port)
 */
public record ClusterConfig(String name, String node, PortalAddress address, List<PortalAddress> members,
    PortalAddress eventBus) {

  private static final Set<String> FIELDS = Set.of("name", "node", "address", "members", "eventBusAddress");

  /** The section, or null when the config has none (standalone). */
  static ClusterConfig fromJson(JsonObject root) {
    Object v = root.getValue("cluster");
    if (v == null) return null;
    if (!(v instanceof JsonObject j)) throw new ConfigException("cluster: must be an object");
    for (String k : j.fieldNames()) {
      if (!FIELDS.contains(k)) throw new ConfigException("cluster." + k + ": unknown field (known: " + FIELDS + ")");
    }
    String name = text(j, "name");
    String node = text(j, "node");
    PortalAddress address = address(j.getValue("address"), "cluster.address", true);
    Object m = j.getValue("members");
    if (!(m instanceof JsonArray ma) || ma.isEmpty()) {
      throw new ConfigException("cluster.members: must be a non-empty list of HOST:PORT");
    }
    List<PortalAddress> members = new ArrayList<>();
    for (int i = 0; i < ma.size(); i++) members.add(address(ma.getValue(i), "cluster.members[" + i + "]", true));
    PortalAddress bus = j.getValue("eventBusAddress") == null ? new PortalAddress(address.host(), 0)
        : address(j.getValue("eventBusAddress"), "cluster.eventBusAddress", false);
    return new ClusterConfig(name, node, address, List.copyOf(members), bus);
  }

  private static String text(JsonObject j, String key) {
    Object v = j.getValue(key);
    if (!(v instanceof String s) || s.isBlank()) throw new ConfigException("cluster." + key + ": required, a non-empty string");
    return s;
  }

  private static PortalAddress address(Object v, String where, boolean portRequired) {
    if (!(v instanceof String s)) throw new ConfigException(where + ": required, \"HOST:PORT\"");
    try {
      PortalAddress a = PortalAddress.parse(s);
      boolean hasPort = s.trim().matches(".*:\\d+$");
      if (portRequired && (!hasPort || a.port() == 0)) throw new ConfigException(where + ": \"" + s + "\" needs a port");
      return a;
    } catch (IllegalArgumentException e) {
      throw new ConfigException(where + ": " + e.getMessage());
    }
  }

  /** What the cluster module joins with. */
  public ClusterOptions options() {
    return new ClusterOptions(name, node, address.host(), address.port(),
        members.stream().map(PortalAddress::toString).toList(), eventBus.host(), eventBus.port());
  }

  JsonObject toJson() {
    JsonArray ms = new JsonArray();
    members.forEach(a -> ms.add(a.toString()));
    return new JsonObject().put("name", name).put("node", node).put("address", address.toString()).put("members", ms)
        .put("eventBusAddress", eventBus.toString());
  }
}
