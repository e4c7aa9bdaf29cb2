package io.spindle.initiator;

import io.netty.buffer.ByteBuf;
import io.spindle.iscsi.text.TextKeys;
import io.vertx.core.Future;
import java.util.List;

/**
 * A logged-in iSCSI session over one or more connections (RFC 7143 §4): numbers commands (CmdSN,
 * ExpStatSN), keeps them inside the target's MaxCmdSN window (queueing the rest), sends
 * immediate and unsolicited data and R2T-solicited Data-Out, and reassembles Data-In.
 *
 * <p>Methods may be called from any thread; the session's state lives on one Vert.x context
 * (every connection of the session runs on it) and futures complete there. Any number of
 * commands may be outstanding. With {@link InitiatorOptions#setMaxConnections} above 1 commands
 * are spread over the connections. Recovery from lost connections and digest errors follows the
 * negotiated ErrorRecoveryLevel (see {@link InitiatorOptions#isSessionRecovery()}); when the
 * session cannot recover, every pending future fails with {@link ConnectionClosedException};
 * each exchange fails with {@link RequestTimeoutException} after the command timeout.
 *
 * <p>LUN numbers are SAM-5 single-level LUNs (peripheral addressing below 256, flat above).
 */
public interface Session {

  int tsih();

  long isid();

  /** The target name, or null for a discovery session. */
  String targetName();

  NegotiatedParameters parameters();

  /** The first live connection of the session (the leading one unless it was lost). */
  Connection connection();

  /** The session's live connections (RFC 7143 §13.2 MaxConnections), in login order. */
  List<Connection> connections();

  /**
   * Recovery actions taken so far: connection recoveries, session re-logins, command retries and
   * commands sent again as new tasks (RFC 7143 §7).
   */
  int recoveries();

  /**
   * Recoveries that moved the session to another portal (its connections' portal was lost; see
   * {@link InitiatorOptions#addPortal}).
   */
  int failovers();

  /** Commands sent or queued and not yet completed. */
  int outstanding();

  /**
   * Submits a SCSI command. {@code dataOut} (null for none) is owned by the session from here;
   * {@code expectedDataIn} is the read allocation (0 for none). Bidirectional commands are not supported.
   */
  PendingCommand submit(int lun, byte[] cdb, ByteBuf dataOut, int expectedDataIn);

  default Future<ScsiResponse> command(int lun, byte[] cdb, ByteBuf dataOut, int expectedDataIn) {
    return submit(lun, cdb, dataOut, expectedDataIn).response();
  }

  /** READ (16), SBC-4 §5.16. */
  default Future<ScsiResponse> read(int lun, long lba, int blocks, int blockSize) {
    return command(lun, Cdbs.read16(lba, blocks), null, blocks * blockSize);
  }

  /** WRITE (16), SBC-4 §5.40; {@code data} (a whole number of blocks) is owned by the session from here. */
  default Future<ScsiResponse> write(int lun, long lba, ByteBuf data, int blockSize) {
    int length = data.readableBytes();
    if (length % blockSize != 0) {
      data.release();
      return Future.failedFuture(new IllegalArgumentException(length + " bytes is not a whole number of "
          + blockSize + "-byte blocks"));
    }
    return command(lun, Cdbs.write16(lba, length / blockSize), data, 0);
  }

  default Future<ScsiResponse> testUnitReady(int lun) {
    return command(lun, Cdbs.testUnitReady(), null, 0);
  }

  /** Standard INQUIRY data, up to 255 bytes (SPC-5 §6.7). */
  default Future<ScsiResponse> inquiry(int lun) {
    return command(lun, Cdbs.inquiry(255), null, 255);
  }

  /** READ CAPACITY (16); fails with {@link ScsiStatusException} unless the status is GOOD. */
  default Future<Capacity> readCapacity16(int lun) {
    return command(lun, Cdbs.readCapacity16(32), null, 32).map(r -> {
      try (r) {
        if (!r.isGood()) throw new ScsiStatusException(r);
        if (r.data().readableBytes() < 12) throw new IscsiInitiatorException("short READ CAPACITY (16) data: " + r);
        return new Capacity(r.data().getLong(0), r.data().getInt(8));
      }
    });
  }

  /** NOP-Out ping (RFC 7143 §11.18) answered by a NOP-In with the same ITT. */
  Future<Void> nop();

  /**
   * Task management function (RFC 7143 §11.5; constants in {@code TaskMgmtRequestPdu}). Completes
   * with the TMF response code; on success the affected local commands fail with {@link TaskAbortedException}.
   * {@code refItt} is the ITT of the task for ABORT TASK (see {@link PendingCommand#itt()}), else ignored.
   */
  Future<Integer> taskManagement(int function, int lun, int refItt);

  /** A Text exchange (RFC 7143 §11.10), following continuations; completes with the target's pairs. */
  Future<List<TextKeys.Pair>> text(List<TextKeys.Pair> request);

  /** Logout with reason "close the session" (RFC 7143 §11.14), then closes the connection. */
  Future<Void> logout();

  /** Closes the connection without logout. */
  Future<Void> close();
}
