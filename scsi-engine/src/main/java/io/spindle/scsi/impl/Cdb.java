package io.spindle.scsi.impl;

/** Big-endian CDB and parameter-list field access (SPC-4 §4.3). */
public final class Cdb {

  private Cdb() {
  }

  public static int u8(byte[] b, int i) {
    return b[i] & 0xFF;
  }

  public static int u16(byte[] b, int i) {
    return (u8(b, i) << 8) | u8(b, i + 1);
  }

  public static int u24(byte[] b, int i) {
    return (u8(b, i) << 16) | u16(b, i + 1);
  }

  public static long u32(byte[] b, int i) {
    return ((long) u16(b, i) << 16) | u16(b, i + 2);
  }

  public static long u64(byte[] b, int i) {
    return (u32(b, i) << 32) | u32(b, i + 4);
  }

  /** Fails with INVALID FIELD IN CDB when any bit of {@code mask} is set in byte {@code i}. */
  public static void reserved(byte[] cdb, int i, int mask) {
    int bad = cdb[i] & mask;
    if (bad != 0) throw CheckCondition.invalidCdbField(i, 31 - Integer.numberOfLeadingZeros(bad));
  }
}
