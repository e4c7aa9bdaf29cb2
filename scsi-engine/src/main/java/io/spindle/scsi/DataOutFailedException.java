package io.spindle.scsi;

/**
 * Why a {@link ScsiCommand#dataOut} pull failed in the transport: the engine ends the command with
 * CHECK CONDITION, ABORTED COMMAND and this additional sense code (a transport failure, not a
 * target fault, so no INTERNAL TARGET FAILURE and no stack trace in the log).
 */
public final class DataOutFailedException extends RuntimeException {
  /** SPC-4: PROTOCOL SERVICE CRC ERROR, for Data-Out that failed its digest (RFC 7143 §7.8). */
  public static final int PROTOCOL_SERVICE_CRC_ERROR = 0x4705;
  /** SPC-4: DATA PHASE ERROR, for Data-Out out of sequence or lost with its connection. */
  public static final int DATA_PHASE_ERROR = 0x4B00;

  private final int ascq;

  /** {@code ascq} is the additional sense code in the high byte and its qualifier in the low byte. */
  public DataOutFailedException(String message, int ascq) {
    super(message, null, false, false);
    this.ascq = ascq;
  }

  public int additionalSenseCode() {
    return ascq >>> 8;
  }

  public int additionalSenseCodeQualifier() {
    return ascq & 0xff;
  }
}
