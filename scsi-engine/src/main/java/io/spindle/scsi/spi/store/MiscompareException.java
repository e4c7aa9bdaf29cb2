package io.spindle.scsi.spi.store;

import java.io.IOException;

/** COMPARE AND WRITE found different data: MISCOMPARE with the offset of the first difference (SBC-4 5.3). */
public final class MiscompareException extends IOException {

  private final long offset;

  /** {@code offset}: bytes from the start of the compared range to the first byte that differs. */
  public MiscompareException(long offset) {
    super("miscompare at byte " + offset + " of the compared range");
    this.offset = offset;
  }

  public long offset() {
    return offset;
  }
}
