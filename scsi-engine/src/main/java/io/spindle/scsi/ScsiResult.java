package io.spindle.scsi;

import io.netty.buffer.ByteBuf;
import io.spindle.scsi.impl.CheckCondition;
import io.spindle.scsi.impl.SenseData;

/**
 * How a command ended: SCSI status, sense data for CHECK CONDITION, Data-In, and the
 * residual against the initiator's buffer (SAM-5 §5.1 Command Complete Received).
 *
 * @param status SCSI status byte (SAM-5 §5.3), see {@link ScsiStatus}
 * @param sense sense data bytes (fixed or descriptor format) or null; owned by the receiver
 * @param dataIn Data-In to send, or null; at most {@code expectedDataTransferLength} bytes;
 *               owned by the receiver, which releases it once sent
 * @param residual positive: underflow count (fewer bytes moved than the buffer size);
 *                 negative: overflow count (the command wanted more than the buffer size);
 *                 0: exact
 * @param aborted true when the task was aborted by task management or a reset: no status is sent
 */
public record ScsiResult(int status, ByteBuf sense, ByteBuf dataIn, int residual, boolean aborted) {

  /** GOOD with no data and no residual: holds no buffers, so one instance serves every command. */
  private static final ScsiResult GOOD = new ScsiResult(ScsiStatus.GOOD, null, null, 0, false);

  public static ScsiResult good(ByteBuf dataIn, int residual) {
    if (dataIn == null && residual == 0) return GOOD;
    return new ScsiResult(ScsiStatus.GOOD, null, dataIn, residual, false);
  }

  /**
   * CHECK CONDITION, HARDWARE ERROR / INTERNAL TARGET FAILURE (44h/00h, fixed format): for a
   * transport whose command could not be carried out by the engine at all.
   */
  public static ScsiResult internalTargetFailure() {
    ByteBuf sense = SenseData.build(CheckCondition.of(SenseData.HARDWARE_ERROR, 0x44, 0x00), false);
    return new ScsiResult(ScsiStatus.CHECK_CONDITION, sense, null, 0, false);
  }

  public static ScsiResult abortedTask() {
    return new ScsiResult(ScsiStatus.TASK_ABORTED, null, null, 0, true);
  }

  /** Releases the buffers this result owns (when it will not be sent). */
  public void release() {
    if (sense != null && sense.refCnt() > 0) sense.release();
    if (dataIn != null && dataIn.refCnt() > 0) dataIn.release();
  }
}
