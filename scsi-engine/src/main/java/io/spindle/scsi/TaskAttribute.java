package io.spindle.scsi;

/** SAM-5 §8.6 task attributes. iSCSI's "untagged" (ATTR 0) is treated as SIMPLE (RFC 7143 §11.3.1.3). */
public enum TaskAttribute {
  SIMPLE, ORDERED, HEAD_OF_QUEUE, ACA;

  /** Maps the iSCSI ATTR field; null for a reserved value. */
  public static TaskAttribute fromIscsi(int attr) {
    switch (attr) {
      case 0: case 1: return SIMPLE;
      case 2: return ORDERED;
      case 3: return HEAD_OF_QUEUE;
      case 4: return ACA;
      default: return null;
    }
  }
}
