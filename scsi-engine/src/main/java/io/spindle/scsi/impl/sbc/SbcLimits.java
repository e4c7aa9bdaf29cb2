package io.spindle.scsi.impl.sbc;

/** The limits the Block Limits VPD page (SBC-4 6.6.4) reports and the handlers enforce. */
public final class SbcLimits {

  /** Largest single transfer: bounds the buffers one command can pin. */
  public static final int MAX_TRANSFER_BYTES = 8 << 20;
  public static final int MAX_COMPARE_AND_WRITE_BLOCKS = 255;
  public static final long MAX_WRITE_SAME_BLOCKS = 1L << 26;
  public static final long MAX_UNMAP_BLOCKS = 1L << 26;
  public static final int MAX_UNMAP_DESCRIPTORS = 256;

  private SbcLimits() {
  }

  public static long maxTransferBlocks(int blockSize) {
    return MAX_TRANSFER_BYTES / blockSize;
  }
}
