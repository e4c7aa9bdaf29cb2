package io.spindle.initiator;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * The outcome of one SCSI command: iSCSI response code, SCSI status (SAM-5 §5.3), sense data,
 * residuals (RFC 7143 §11.4.5) and the Data-In bytes reassembled by buffer offset.
 *
 * <p>The response owns {@link #data()}: close it (try-with-resources) or release the data.
 */
public final class ScsiResponse implements AutoCloseable {

  public static final int GOOD = 0x00;
  public static final int CHECK_CONDITION = 0x02;
  public static final int CONDITION_MET = 0x04;
  public static final int BUSY = 0x08;
  public static final int RESERVATION_CONFLICT = 0x18;
  public static final int TASK_SET_FULL = 0x28;
  public static final int ACA_ACTIVE = 0x30;
  public static final int TASK_ABORTED = 0x40;

  private final int response;
  private final int status;
  private final byte[] sense;
  private final ByteBuf data;
  private final boolean overflow;
  private final boolean underflow;
  private final int residualCount;

  public ScsiResponse(int response, int status, byte[] sense, ByteBuf data, boolean overflow, boolean underflow,
      int residualCount) {
    this.response = response;
    this.status = status;
    this.sense = sense == null ? new byte[0] : sense;
    this.data = data == null ? Unpooled.EMPTY_BUFFER : data;
    this.overflow = overflow;
    this.underflow = underflow;
    this.residualCount = residualCount;
  }

  /** iSCSI Response field: 0x00 command completed at target, 0x01 target failure. */
  public int response() {
    return response;
  }

  public int status() {
    return status;
  }

  public boolean isGood() {
    return response == 0 && status == GOOD;
  }

  /** Sense data without the SenseLength prefix; empty when the target sent none. */
  public byte[] sense() {
    return sense.clone();
  }

  /** SPC-5 §4.4: sense key from fixed (0x70/0x71) or descriptor (0x72/0x73) format, -1 without sense. */
  public int senseKey() {
    if (sense.length < 3) return -1;
    int code = sense[0] & 0x7f;
    if (code == 0x72 || code == 0x73) return sense[1] & 0x0f;
    return sense[2] & 0x0f;
  }

  /** Additional sense code, -1 without sense. */
  public int asc() {
    int code = sense.length == 0 ? 0 : sense[0] & 0x7f;
    if (code == 0x72 || code == 0x73) return sense.length > 2 ? sense[2] & 0xff : -1;
    return sense.length > 12 ? sense[12] & 0xff : -1;
  }

  /** Additional sense code qualifier, -1 without sense. */
  public int ascq() {
    int code = sense.length == 0 ? 0 : sense[0] & 0x7f;
    if (code == 0x72 || code == 0x73) return sense.length > 3 ? sense[3] & 0xff : -1;
    return sense.length > 13 ? sense[13] & 0xff : -1;
  }

  /** Data-In bytes, from offset 0 to the highest byte the target sent. Owned by this response. */
  public ByteBuf data() {
    return data;
  }

  public boolean overflow() {
    return overflow;
  }

  public boolean underflow() {
    return underflow;
  }

  public int residualCount() {
    return residualCount;
  }

  @Override
  public void close() {
    if (data.refCnt() > 0) data.release();
  }

  @Override
  public String toString() {
    return "ScsiResponse{response=" + response + ", status=0x" + Integer.toHexString(status)
        + (sense.length > 0 ? ", sense=" + senseKey() + "/" + asc() + "/" + ascq() : "")
        + ", data=" + data.readableBytes()
        + (overflow ? ", overflow=" + residualCount : "") + (underflow ? ", underflow=" + residualCount : "") + "}";
  }
}
