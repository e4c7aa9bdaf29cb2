package io.spindle.cluster;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxBuilder;
import java.util.List;

/**
 * This process as a member of a Spindle cluster: membership, the clustered Vert.x (so the admin
 * event-bus API reaches every node), the shared {@link StateStore}, and the portals every node
 * contributes to SendTargets. The iSCSI layer sees only this interface; the Hazelcast classes are
 * loaded only by {@link #join}.
 */
public interface ClusterNode {

  /**
   * Starts an embedded cluster member and a clustered Vert.x on it. {@code builder} carries the
   * Vert.x options (event-bus address set by {@link ClusterOptions}) and metrics.
   */
  static Future<ClusterNode> join(ClusterOptions options, VertxBuilder builder) {
    return io.spindle.cluster.hazelcast.HazelcastClusterNode.join(options, builder);
  }

  /** This node's name. */
  String node();

  ClusterOptions options();

  /** The clustered Vert.x. */
  Vertx vertx();

  StateStore stateStore();

  /** The members now, this one included, oldest first. */
  List<Member> members();

  /** Publishes what this node serves: its portals and the TSIHs of its sessions (admin API, SendTargets). */
  void publish(List<Portal> portals, List<Integer> sessions);

  /** The portals of every live member, this one's included (a removed member's are gone). */
  List<Portal> portals();

  /** Called with the node name of each member that joins ({@code true}) or leaves. */
  void onMembership(MembershipHandler handler);

  /** Leaves the cluster and closes the clustered Vert.x. */
  Future<Void> leave();

  interface MembershipHandler {
    void changed(String node, boolean joined);
  }

  /**
   * One member as the admin API shows it.
   *
   * @param sessions the TSIHs it last published as served
   */
  record Member(String node, String address, boolean local, List<Integer> sessions) {
  }

  /** One portal of one node, for SendTargets (RFC 7143 §12.3: TargetAddress=host:port,tag). */
  record Portal(String node, String host, int port, int portalGroupTag, String transport) {
  }
}
