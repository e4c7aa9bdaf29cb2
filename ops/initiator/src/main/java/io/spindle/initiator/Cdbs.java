package io.spindle.initiator;

/** CDBs for the convenience commands. */
public final class Cdbs {

  private Cdbs() {
  }

  public static byte[] testUnitReady() {
    return new byte[6];
  }

  /** SPC-5 §6.7: INQUIRY, standard data. */
  public static byte[] inquiry(int allocationLength) {
    byte[] cdb = new byte[6];
    cdb[0] = 0x12;
    cdb[3] = (byte) (allocationLength >> 8);
    cdb[4] = (byte) allocationLength;
    return cdb;
  }

  /** SBC-4 §5.20: SERVICE ACTION IN (16) with READ CAPACITY (16). */
  public static byte[] readCapacity16(int allocationLength) {
    byte[] cdb = new byte[16];
    cdb[0] = (byte) 0x9e;
    cdb[1] = 0x10;
    putInt(cdb, 10, allocationLength);
    return cdb;
  }

  public static byte[] read16(long lba, int blocks) {
    return rw16(0x88, lba, blocks);
  }

  public static byte[] write16(long lba, int blocks) {
    return rw16(0x8a, lba, blocks);
  }

  private static byte[] rw16(int opcode, long lba, int blocks) {
    byte[] cdb = new byte[16];
    cdb[0] = (byte) opcode;
    putInt(cdb, 2, (int) (lba >>> 32));
    putInt(cdb, 6, (int) lba);
    putInt(cdb, 10, blocks);
    return cdb;
  }

  private static void putInt(byte[] b, int at, int v) {
    b[at] = (byte) (v >>> 24);
    b[at + 1] = (byte) (v >>> 16);
    b[at + 2] = (byte) (v >>> 8);
    b[at + 3] = (byte) v;
  }

  /** SAM-5 §4.7: a single-level LUN, peripheral device addressing below 256, flat space addressing above. */
  public static long lun(int lun) {
    if (lun < 0 || lun > 0x3fff) throw new IllegalArgumentException("LUN " + lun + " is outside 0..16383");
    if (lun < 256) return (long) lun << 48;
    return (long) (0x4000 | lun) << 48;
  }
}
