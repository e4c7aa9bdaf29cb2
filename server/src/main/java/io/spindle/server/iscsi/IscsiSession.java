package io.spindle.server.iscsi;

import io.spindle.iscsi.negotiation.ConnectionParameters;
import io.spindle.iscsi.negotiation.SessionParameters;
import io.spindle.iscsi.pdu.InitiatorPdu;
import io.spindle.scsi.Nexus;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * One iSCSI session (RFC 7143 §4.4): identity, negotiated parameters, the command window and the
 * tasks. Confined to the leading connection's context.
 */
final class IscsiSession {

  enum Type { NORMAL, DISCOVERY }

  final Type type;
  final String initiatorName;
  final long isid;
  final int tsih;
  final IscsiTarget target;   // null for discovery sessions
  final int portalGroupTag;
  final SessionParameters params;
  /** The leading (only) connection's negotiated values: digests and segment lengths. */
  final ConnectionParameters connectionParams;
  final Nexus nexus;          // null for discovery sessions
  final int queueDepth;

  /** RFC 7143 §4.2.2.1: the next CmdSN expected, and the highest MaxCmdSN announced. */
  int expCmdSn;
  private int maxCmdSnAnnounced;
  /** Non-immediate commands that arrived ahead of ExpCmdSN, by CmdSN. */
  final TreeMap<Integer, InitiatorPdu> waiting = new TreeMap<>(SerialNumbers::compare);
  /** Tasks by ITT, from arrival until their status has been sent. */
  final Map<Integer, IscsiTask> tasks = new HashMap<>();

  IscsiConnection connection;
  boolean closed;

  IscsiSession(Type type, String initiatorName, long isid, int tsih, IscsiTarget target, int portalGroupTag,
      SessionParameters params, ConnectionParameters connectionParams, Nexus nexus, int queueDepth,
      int initialCmdSn) {
    this.type = type;
    this.initiatorName = initiatorName;
    this.isid = isid;
    this.tsih = tsih;
    this.target = target;
    this.portalGroupTag = portalGroupTag;
    this.params = params;
    this.connectionParams = connectionParams;
    this.nexus = nexus;
    this.queueDepth = queueDepth;
    this.expCmdSn = initialCmdSn;
    this.maxCmdSnAnnounced = initialCmdSn - 1;
  }

  /**
   * MaxCmdSN to announce: the window shrinks while tasks are outstanding (backpressure), but an
   * announced value is never taken back (RFC 7143 §4.2.2.1: the initiator ignores a smaller one).
   */
  int maxCmdSn() {
    int free = Math.max(0, queueDepth - tasks.size());
    int candidate = expCmdSn + free - 1;
    if (SerialNumbers.lessThan(maxCmdSnAnnounced, candidate)) maxCmdSnAnnounced = candidate;
    return maxCmdSnAnnounced;
  }

  /** The key of the session among the target's sessions: initiator name, ISID, portal group (RFC 7143 §4.4.3). */
  static String key(String initiatorName, long isid, String targetName, int tpgt) {
    return initiatorName + ",i,0x" + String.format("%012x", isid) + "|" + targetName + ",t," + tpgt;
  }

  String key() {
    return key(initiatorName, isid, target == null ? "" : target.name(), portalGroupTag);
  }

  String describe() {
    return "initiator=" + initiatorName + " isid=0x" + String.format("%012x", isid) + " tsih=" + tsih
        + (target == null ? " type=discovery" : " target=" + target.name());
  }
}
