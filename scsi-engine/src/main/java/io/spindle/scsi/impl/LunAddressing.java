package io.spindle.scsi.impl;

/** SAM-5 §4.6 LUN field: peripheral (00b) and flat (01b) single-level addressing. */
public final class LunAddressing {

  private LunAddressing() {
  }

  /** The LUN number, or -1 for an addressing method or level this target does not use. */
  public static int decode(long field) {
    if ((field & 0x0000_FFFF_FFFF_FFFFL) != 0) return -1;
    int b0 = (int) (field >>> 56) & 0xFF;
    int b1 = (int) (field >>> 48) & 0xFF;
    switch (b0 >>> 6) {
      case 0:
        // Peripheral device addressing: bus identifier 0 only (SAM-5 §4.6.7).
        return (b0 & 0x3F) == 0 ? b1 : -1;
      case 1:
        return ((b0 & 0x3F) << 8) | b1;
      default:
        return -1;
    }
  }

  /** REPORT LUNS form: peripheral addressing below 256, flat addressing up to 16383. */
  public static long encode(int lun) {
    if (lun < 256) return (long) lun << 48;
    return ((long) (0x40 | ((lun >>> 8) & 0x3F)) << 56) | ((long) (lun & 0xFF) << 48);
  }
}
