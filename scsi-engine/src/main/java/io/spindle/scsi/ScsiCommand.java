package io.spindle.scsi;

import io.netty.buffer.ByteBuf;
import io.vertx.core.Context;
import io.vertx.core.Future;

/**
 * One SCSI command as the transport hands it to the engine (SAM-5 §5.1 Execute Command):
 * nexus, LUN, CDB, task attribute, the size of the initiator's buffer, and a way to pull
 * Data-Out. The engine completes it through the future returned by
 * {@link ScsiTarget#execute(ScsiCommand)}, on {@link #context()}.
 */
public interface ScsiCommand {

  Nexus nexus();

  /** The 8-byte LUN field as received (SAM-5 §4.6 format); the engine decodes it. */
  long lun();

  /** The CDB, exactly as long as the transport received it (6..260 bytes). Valid until completion. */
  ByteBuf cdb();

  TaskAttribute attribute();

  /** The transport's task tag (iSCSI: the ITT); unique among the nexus's tasks in the task set. */
  long taskTag();

  /**
   * The initiator's buffer size for this command (iSCSI Expected Data Transfer Length):
   * Data-Out bytes available when {@link #hasDataOut()}, otherwise Data-In bytes accepted.
   */
  int expectedDataTransferLength();

  /** True when the initiator sends data with this command (iSCSI W bit). */
  boolean hasDataOut();

  /** True when the initiator expects data back (iSCSI R bit). */
  boolean hasDataIn();

  /**
   * Pulls Data-Out bytes {@code [offset, offset + length)} from the initiator. The returned
   * buffer belongs to the caller (release it). Fails with {@link DataOutFailedException} when the
   * transport cannot deliver the data (digest error, connection gone), otherwise when the range
   * exceeds {@link #expectedDataTransferLength()}. Completes on {@link #context()}.
   */
  Future<ByteBuf> dataOut(int offset, int length);

  /** The context the command arrived on; every completion is delivered there. */
  Context context();
}
