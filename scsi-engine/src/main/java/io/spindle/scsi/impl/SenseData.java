package io.spindle.scsi.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;

/** Builds sense data in fixed (70h) or descriptor (72h) format, SPC-4 §4.5. */
public final class SenseData {

  public static final int NO_SENSE = 0x0;
  public static final int NOT_READY = 0x2;
  public static final int MEDIUM_ERROR = 0x3;
  public static final int HARDWARE_ERROR = 0x4;
  public static final int ILLEGAL_REQUEST = 0x5;
  public static final int UNIT_ATTENTION = 0x6;
  public static final int DATA_PROTECT = 0x7;
  public static final int COPY_ABORTED = 0xA;
  public static final int ABORTED_COMMAND = 0xB;
  public static final int MISCOMPARE = 0xE;

  /** Fixed format length: 8-byte header plus 10 additional bytes (SPC-4 §4.5.3). */
  public static final int FIXED_LENGTH = 18;

  private SenseData() {
  }

  public static ByteBuf build(CheckCondition c, boolean descriptor) {
    return descriptor ? descriptorFormat(c) : fixedFormat(c);
  }

  /** Sense data for NO SENSE (REQUEST SENSE with nothing to report). */
  public static ByteBuf noSense(boolean descriptor) {
    return build(CheckCondition.of(NO_SENSE, 0, 0), descriptor);
  }

  private static int senseKeySpecific(CheckCondition c) {
    // SPC-4 §4.5.2.4.4: SKSV and the progress indication.
    if (c.progress() >= 0) return 0x800000 | c.progress();
    // SPC-4 §4.5.2.4.2: SKSV, C/D, BPV, bit pointer, field pointer.
    int sks = 0x800000 | (c.inCdb() ? 0x400000 : 0) | (c.fieldByte() & 0xFFFF);
    if (c.fieldBit() >= 0) sks |= 0x080000 | ((c.fieldBit() & 7) << 16);
    return sks;
  }

  private static boolean hasSks(CheckCondition c) {
    return c.fieldByte() >= 0 || c.progress() >= 0;
  }

  static ByteBuf fixedFormat(CheckCondition c) {
    ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(FIXED_LENGTH);
    b.writeZero(FIXED_LENGTH);
    b.setByte(0, (c.informationValid() ? 0x80 : 0) | 0x70);
    b.setByte(2, c.senseKey());
    if (c.informationValid()) b.setInt(3, (int) c.information());
    b.setByte(7, FIXED_LENGTH - 8);
    b.setByte(12, c.asc());
    b.setByte(13, c.ascq());
    if (hasSks(c)) b.setMedium(15, senseKeySpecific(c));
    return b;
  }

  static ByteBuf descriptorFormat(CheckCondition c) {
    int len = 8 + (c.informationValid() ? 12 : 0) + (hasSks(c) ? 8 : 0);
    ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(len);
    b.writeByte(0x72).writeByte(c.senseKey()).writeByte(c.asc()).writeByte(c.ascq());
    b.writeZero(3).writeByte(len - 8);
    if (c.informationValid()) {
      // SPC-4 §4.5.2.2 information descriptor.
      b.writeByte(0x00).writeByte(0x0A).writeByte(0x80).writeByte(0).writeLong(c.information());
    }
    if (hasSks(c)) {
      // SPC-4 §4.5.2.4 sense key specific descriptor.
      b.writeByte(0x02).writeByte(0x06).writeZero(2).writeMedium(senseKeySpecific(c)).writeByte(0);
    }
    return b;
  }
}
