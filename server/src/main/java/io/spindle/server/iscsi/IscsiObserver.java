package io.spindle.server.iscsi;

/**
 * What the iSCSI layer reports as it works, for metrics and audit logs. Called on event loops:
 * implementations must not block and must be thread-safe. Every method has a no-op default.
 */
public interface IscsiObserver {

  IscsiObserver NONE = new IscsiObserver() {
  };

  /** Kinds of SCSI commands, for per-LUN operation counters. */
  enum CommandKind { READ, WRITE, OTHER }

  default void connectionOpened(String transport, String peer) {
  }

  default void connectionClosed(String transport, String peer) {
  }

  /** A login completed; {@code targetName} is null for discovery sessions. */
  default void loginSucceeded(String peer, String initiatorName, String targetName, boolean discovery) {
  }

  /** A login failed with this RFC 7143 §11.13.5 status (e.g. 0x0201 authentication failure). */
  default void loginFailed(String peer, String initiatorName, String targetName, int status) {
  }

  default void sessionOpened(String targetName, boolean discovery) {
  }

  default void sessionClosed(String targetName, boolean discovery) {
  }

  /**
   * A SCSI command finished (status sent).
   *
   * @param bytes data moved (Data-In or Data-Out)
   * @param latencyNanos from command arrival to status
   */
  default void commandCompleted(String targetName, int lun, CommandKind kind, int scsiStatus, long bytes,
      long latencyNanos) {
  }

  /**
   * The same event with the session it belongs to, for per-session statistics. The default hands
   * it on without the session, so an observer may implement either form.
   */
  default void commandCompleted(int tsih, String targetName, int lun, CommandKind kind, int scsiStatus, long bytes,
      long latencyNanos) {
    commandCompleted(targetName, lun, kind, scsiStatus, bytes, latencyNanos);
  }

  /**
   * Where a session reports the commands of one LUN and kind, resolved once and reused for every
   * later command, so the per-command path does no lookups (the 4 KiB profile had the keyed form
   * at about 6.5% of the event loop). Equivalent to {@link #commandCompleted(int, String, int,
   * CommandKind, int, long, long)} with the fixed arguments.
   */
  @FunctionalInterface
  interface CommandMeter {
    void completed(int scsiStatus, long bytes, long latencyNanos);
  }

  /**
   * The meter for one session's commands on {@code lun} of {@code kind}. The default reports
   * through {@link #commandCompleted(int, String, int, CommandKind, int, long, long)}; an
   * observer may resolve its meters here instead. Called on the session's context.
   */
  default CommandMeter commandMeter(int tsih, String targetName, int lun, CommandKind kind) {
    return (status, bytes, latencyNanos) -> commandCompleted(tsih, targetName, lun, kind, status, bytes, latencyNanos);
  }

  default void taskManagement(String targetName, String function, int response) {
  }

  default void r2tSent(String targetName) {
  }

  default void digestError(String peer, boolean header) {
  }

  /** A Reject PDU was sent with this reason (RFC 7143 §11.17.1). */
  default void pduRejected(String peer, int reason) {
  }
}
