package io.spindle.cluster;

import java.util.List;

/**
 * How this process joins a Spindle cluster (the config's {@code "cluster"} section).
 *
 * @param name the Hazelcast cluster name; members with another name never join
 * @param node this node's unique name (logs, admin API, metrics, session ownership)
 * @param host the address the Hazelcast member binds and announces
 * @param port its port (no auto-increment: a taken port fails the start)
 * @param members the TCP-IP join list, {@code HOST:PORT} each (multicast is off)
 * @param eventBusHost the clustered Vert.x event bus address
 * @param eventBusPort its port; 0 picks a free one
 */
public record ClusterOptions(String name, String node, String host, int port, List<String> members,
    String eventBusHost, int eventBusPort) {

  /** Heartbeat period (seconds): how often members tell each other they live. */
  public static final int HEARTBEAT_SECONDS = 1;
  /** A member silent this long (seconds) is removed, and its sessions can be taken over. */
  public static final int MAX_NO_HEARTBEAT_SECONDS = 5;

  public ClusterOptions {
    members = List.copyOf(members);
  }
}
