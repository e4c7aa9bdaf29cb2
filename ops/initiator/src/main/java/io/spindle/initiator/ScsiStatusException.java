package io.spindle.initiator;

/** A convenience command (such as {@link Session#readCapacity16(int)}) ended with a status other than GOOD. */
public final class ScsiStatusException extends IscsiInitiatorException {
  private static final long serialVersionUID = 1L;
  private final int status;
  private final int senseKey;
  private final int asc;
  private final int ascq;

  public ScsiStatusException(ScsiResponse r) {
    super("SCSI command failed: " + r);
    this.status = r.status();
    this.senseKey = r.senseKey();
    this.asc = r.asc();
    this.ascq = r.ascq();
  }

  public int status() {
    return status;
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
}
