package io.spindle.scsi.impl;

/**
 * A command ended in CHECK CONDITION (SAM-5 §5.3.1). Thrown by command handlers while they
 * validate the CDB or parameter data; the target turns it into status and sense data in the
 * format the logical unit's control mode page selects (SPC-4 §4.5).
 */
public final class CheckCondition extends RuntimeException {

  private final int senseKey;
  private final int asc;
  private final int ascq;
  /** Sense-key specific field pointer (SPC-4 §4.5.2.4.2), or -1 when none. */
  private final int fieldByte;
  private final int fieldBit;
  private final boolean inCdb;
  private final long information;
  private final boolean informationValid;
  /** Progress indication (SPC-4 §4.5.2.4.4), 0..65535 of 65536, or -1 when none. */
  private int progress = -1;

  private CheckCondition(int senseKey, int asc, int ascq, int fieldByte, int fieldBit, boolean inCdb,
      long information, boolean informationValid) {
    super(null, null, false, false);
    this.senseKey = senseKey;
    this.asc = asc;
    this.ascq = ascq;
    this.fieldByte = fieldByte;
    this.fieldBit = fieldBit;
    this.inCdb = inCdb;
    this.information = information;
    this.informationValid = informationValid;
  }

  public static CheckCondition of(int senseKey, int asc, int ascq) {
    return new CheckCondition(senseKey, asc, ascq, -1, -1, false, 0, false);
  }

  /** ILLEGAL REQUEST / INVALID FIELD IN CDB pointing at byte (and bit, or -1 for the whole byte). */
  public static CheckCondition invalidCdbField(int byteIndex, int bit) {
    return new CheckCondition(SenseData.ILLEGAL_REQUEST, 0x24, 0x00, byteIndex, bit, true, 0, false);
  }

  /** ILLEGAL REQUEST / INVALID FIELD IN PARAMETER LIST pointing at byte (and bit). */
  public static CheckCondition invalidParameterField(int byteIndex, int bit) {
    return new CheckCondition(SenseData.ILLEGAL_REQUEST, 0x26, 0x00, byteIndex, bit, false, 0, false);
  }

  /** MISCOMPARE with the offset of the first differing byte in the INFORMATION field (SBC-4 5.3). */
  public static CheckCondition miscompare(long offset) {
    return new CheckCondition(SenseData.MISCOMPARE, 0x1D, 0x00, -1, -1, false, offset, true);
  }

  /** NOT READY with a progress indication in the sense-key specific field (SPC-4 §4.5.2.4.4). */
  public static CheckCondition inProgress(int asc, int ascq, int progress) {
    CheckCondition c = of(SenseData.NOT_READY, asc, ascq);
    c.progress = Math.max(0, Math.min(0xFFFF, progress));
    return c;
  }

  public int progress() {
    return progress;
  }

  public static CheckCondition invalidOpcode() {
    return of(SenseData.ILLEGAL_REQUEST, 0x20, 0x00);
  }

  public static CheckCondition lbaOutOfRange() {
    return of(SenseData.ILLEGAL_REQUEST, 0x21, 0x00);
  }

  public static CheckCondition parameterListLengthError() {
    return of(SenseData.ILLEGAL_REQUEST, 0x1A, 0x00);
  }

  public int senseKey() {
    return senseKey;
  }

  public int asc() {
    return asc;
  }

  public int ascq() {
    return ascq;
  }

  public int fieldByte() {
    return fieldByte;
  }

  public int fieldBit() {
    return fieldBit;
  }

  public boolean inCdb() {
    return inCdb;
  }

  public long information() {
    return information;
  }

  public boolean informationValid() {
    return informationValid;
  }

  @Override
  public String getMessage() {
    return String.format("sense key %Xh ASC/ASCQ %02Xh/%02Xh", senseKey, asc, ascq);
  }
}
