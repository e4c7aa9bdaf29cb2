package io.spindle.cluster;

import io.vertx.core.Future;
import java.util.List;

/**
 * State that must outlive a connection — and, in a cluster, a node — for ErrorRecoveryLevel 2
 * (RFC 7143 §6.2, §7.1.5): a session's identity and command window, and the snapshots of tasks
 * waiting to be reassigned. The iSCSI layer writes here only when the protocol needs it (login,
 * connection failure, logout), never per command.
 */
public interface StateStore {

  /** The single-node store: everything in this JVM's memory. */
  static StateStore inMemory() {
    return new io.spindle.cluster.impl.InMemoryStateStore();
  }

  Future<Void> putSession(SessionRecord session);

  Future<SessionRecord> getSession(String sessionKey);

  /** Removes the session and every task snapshot under it. */
  Future<Void> removeSession(String sessionKey);

  /** Replaces the task snapshots of a session (those waiting for TASK REASSIGN). */
  Future<Void> putTasks(String sessionKey, List<TaskSnapshot> tasks);

  Future<List<TaskSnapshot>> getTasks(String sessionKey);

  /**
   * A session's identity (RFC 7143 §4.4.3) and command window.
   *
   * @param key initiator name, ISID and target portal group, as the iSCSI layer forms it
   * @param expCmdSn the next CmdSN the target expects
   * @param errorRecoveryLevel as negotiated
   * @param time2Retain seconds tasks are kept after a connection failure (DefaultTime2Retain)
   */
  record SessionRecord(String key, String initiatorName, long isid, int tsih, String targetName, int expCmdSn,
      int errorRecoveryLevel, int time2Wait, int time2Retain) {
  }

  /**
   * What TASK REASSIGN needs of one task (RFC 7143 §6.2.2): the command, how far its data got, and
   * what the initiator acknowledged.
   *
   * @param cdb the CDB bytes (a copy: taken once, at connection failure)
   * @param dataOutReceived Data-Out bytes received so far (writes)
   * @param dataInAcknowledged DataSN below which Data-In was acknowledged (reads)
   */
  record TaskSnapshot(int itt, int cmdSn, long lun, byte[] cdb, int attribute, int expectedDataTransferLength,
      boolean read, boolean write, int dataOutReceived, int dataInAcknowledged, int failedCid) {
  }
}
