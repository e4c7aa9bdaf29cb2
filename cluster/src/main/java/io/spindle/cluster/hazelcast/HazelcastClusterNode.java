package io.spindle.cluster.hazelcast;

import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.config.Config;
import com.hazelcast.config.MapConfig;
import com.hazelcast.config.MultiMapConfig;
import com.hazelcast.config.NetworkConfig;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.replicatedmap.ReplicatedMap;
import io.spindle.cluster.ClusterNode;
import io.spindle.cluster.ClusterOptions;
import io.spindle.cluster.StateStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxBuilder;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link ClusterNode} on an embedded Hazelcast member, which is also the Vert.x cluster manager's
 * (one member per process: one set of heartbeats, one view of who is alive).
 *
 * <p>Failure detection: heartbeats every {@value ClusterOptions#HEARTBEAT_SECONDS} s, a member
 * silent for {@value ClusterOptions#MAX_NO_HEARTBEAT_SECONDS} s is removed; a member whose
 * connections keep failing (a killed process: connection refused) is suspected after three
 * failed checks 100 ms apart. Split-brain merging starts 10 s after a partition heals (a node
 * that was stopped and continued), not the default 5 minutes.
 */
public final class HazelcastClusterNode implements ClusterNode {

  private static final Logger log = LoggerFactory.getLogger("io.spindle.cluster");
  /** Each member's published portals and sessions, by member UUID: fully replicated, read locally. */
  static final String SERVING_MAP = "spindle.serving";

  private final ClusterOptions options;
  private final Vertx vertx;
  private final HazelcastInstance hz;
  private final HazelcastStateStore store;
  private final ReplicatedMap<String, String> serving;
  private final List<MembershipHandler> handlers = new CopyOnWriteArrayList<>();

  private HazelcastClusterNode(ClusterOptions options, Vertx vertx, HazelcastInstance hz) {
    this.options = options;
    this.vertx = vertx;
    this.hz = hz;
    this.store = new HazelcastStateStore(hz);
    this.serving = hz.getReplicatedMap(SERVING_MAP);
    hz.getCluster().addMembershipListener(new MembershipListener() {
      @Override
      public void memberAdded(MembershipEvent e) {
        changed(e.getMember(), true);
      }

      @Override
      public void memberRemoved(MembershipEvent e) {
        serving.remove(e.getMember().getUuid().toString());
        changed(e.getMember(), false);
      }
    });
  }

  private void changed(com.hazelcast.cluster.Member m, boolean joined) {
    String node = nodeName(m);
    log.info("cluster member {} {} ({}); members now {}", node, joined ? "joined" : "left", m.getAddress(),
        hz.getCluster().getMembers().size());
    for (MembershipHandler h : handlers) h.changed(node, joined);
  }

  /** The Hazelcast configuration for these options (also what the tests start members with). */
  public static Config config(ClusterOptions o) {
    Config c = new Config();
    c.setClusterName(o.name());
    c.setInstanceName("spindle-" + o.node());
    c.getMemberAttributeConfig().setAttribute("spindle.node", o.node());
    c.setProperty("hazelcast.logging.type", "slf4j");
    c.setProperty("hazelcast.phone.home.enabled", "false");
    c.setProperty("hazelcast.shutdownhook.enabled", "false");
    c.setProperty("hazelcast.heartbeat.interval.seconds", Integer.toString(ClusterOptions.HEARTBEAT_SECONDS));
    c.setProperty("hazelcast.max.no.heartbeat.seconds", Integer.toString(ClusterOptions.MAX_NO_HEARTBEAT_SECONDS));
    c.setProperty("hazelcast.connection.monitor.interval", "100");
    c.setProperty("hazelcast.connection.monitor.max.faults", "3");
    // Join quickly: members listed in the config are tried at once, not after the default 5 s.
    c.setProperty("hazelcast.wait.seconds.before.join", "1");
    c.setProperty("hazelcast.merge.first.run.delay.seconds", "10");
    c.setProperty("hazelcast.merge.next.run.delay.seconds", "10");
    // A small cluster starts faster with fewer partitions; 271 is meant for many members.
    c.setProperty("hazelcast.partition.count", "71");
    c.setProperty("hazelcast.socket.bind.any", "false");
    c.setProperty("hazelcast.local.localAddress", o.host());
    NetworkConfig n = c.getNetworkConfig();
    n.setPort(o.port()).setPortAutoIncrement(false);
    n.getInterfaces().setEnabled(true).addInterface(o.host());
    n.getJoin().getMulticastConfig().setEnabled(false);
    n.getJoin().getAutoDetectionConfig().setEnabled(false);
    n.getJoin().getTcpIpConfig().setEnabled(true).setMembers(new ArrayList<>(o.members()))
        .setConnectionTimeoutSeconds(2);
    // What the Vert.x cluster manager needs (its default-cluster.xml).
    c.addMultiMapConfig(new MultiMapConfig("__vertx.subs").setBackupCount(1)
        .setValueCollectionType(MultiMapConfig.ValueCollectionType.SET));
    c.addMapConfig(new MapConfig("__vertx.haInfo").setBackupCount(1));
    c.addMapConfig(new MapConfig("__vertx.nodeInfo").setBackupCount(1));
    // Session state: one synchronous backup, so a write acknowledged survives the loss of any one member.
    MapConfig sessions = new MapConfig(HazelcastStateStore.MAP).setBackupCount(1).setAsyncBackupCount(0);
    sessions.getMergePolicyConfig().setPolicy(HigherEpochMergePolicy.class.getName());
    c.addMapConfig(sessions);
    return c;
  }

  public static Future<ClusterNode> join(ClusterOptions options, VertxBuilder builder) {
    HazelcastClusterManager manager = new HazelcastClusterManager(config(options));
    long start = System.nanoTime();
    return builder.withClusterManager(manager).buildClustered().map(v -> {
      HazelcastClusterNode node = new HazelcastClusterNode(options, v, manager.getHazelcastInstance());
      log.info("cluster {} joined as {} at {}:{} in {} ms; members {}", options.name(), options.node(), options.host(),
          options.port(), (System.nanoTime() - start) / 1_000_000, node.members().stream().map(ClusterNode.Member::node).toList());
      return node;
    });
  }

  private static String nodeName(com.hazelcast.cluster.Member m) {
    String n = m.getAttribute("spindle.node");
    return n == null ? m.getAddress().toString() : n;
  }

  @Override
  public String node() {
    return options.node();
  }

  @Override
  public ClusterOptions options() {
    return options;
  }

  @Override
  public Vertx vertx() {
    return vertx;
  }

  @Override
  public StateStore stateStore() {
    return store;
  }

  @Override
  public List<ClusterNode.Member> members() {
    List<ClusterNode.Member> out = new ArrayList<>();
    for (com.hazelcast.cluster.Member m : hz.getCluster().getMembers()) {
      String json = serving.get(m.getUuid().toString());
      List<Integer> sessions = new ArrayList<>();
      if (json != null) new JsonObject(json).getJsonArray("sessions", new JsonArray()).forEach(t -> sessions.add((Integer) t));
      out.add(new ClusterNode.Member(nodeName(m), m.getAddress().getHost() + ":" + m.getAddress().getPort(),
          m.localMember(), sessions));
    }
    return out;
  }

  @Override
  public void publish(List<Portal> portals, List<Integer> sessions) {
    JsonArray ps = new JsonArray();
    for (Portal p : portals) {
      ps.add(new JsonObject().put("host", p.host()).put("port", p.port()).put("tag", p.portalGroupTag())
          .put("transport", p.transport()));
    }
    String json = new JsonObject().put("node", node()).put("portals", ps).put("sessions", new JsonArray(sessions))
        .encode();
    String key = hz.getCluster().getLocalMember().getUuid().toString();
    if (!json.equals(serving.get(key))) serving.put(key, json);
  }

  @Override
  public List<Portal> portals() {
    List<Portal> out = new ArrayList<>();
    for (com.hazelcast.cluster.Member m : hz.getCluster().getMembers()) {
      String json = serving.get(m.getUuid().toString());
      if (json == null) continue;
      JsonObject j = new JsonObject(json);
      for (Object o : j.getJsonArray("portals")) {
        JsonObject p = (JsonObject) o;
        out.add(new Portal(j.getString("node"), p.getString("host"), p.getInteger("port"), p.getInteger("tag"),
            p.getString("transport")));
      }
    }
    return out;
  }

  @Override
  public void onMembership(MembershipHandler handler) {
    handlers.add(handler);
  }

  @Override
  public Future<Void> leave() {
    return vertx.close();
  }
}
