package io.spindle.scsi.impl.sbc;

/** The limits the Block Limits VPD page (SBC-4 6.6.4) reports and the handlers enforce. */
public final class SbcLimits {

  /** Largest single transfer: bounds the buffers one command can pin. */
  public static final int MAX_TRANSFER_BYTES = 8 << 20;
  public static final int MAX_COMPARE_AND_WRITE_BLOCKS = 255;
  /**
   * Below 65536 so a 4-byte NUMBER OF LOGICAL BLOCKS that large is refused rather than
   * needing a reference WRITE larger than {@link #MAX_TRANSFER_BYTES} (libiscsi WriteSame16.Unmap).
   */
  public static final long MAX_WRITE_SAME_BLOCKS = 65535;
  /** At most 2^20: libiscsi's Block Limits check treats larger explicit limits as insane. */
  public static final long MAX_UNMAP_BLOCKS = 1L << 20;
  public static final int MAX_UNMAP_DESCRIPTORS = 256;

  private SbcLimits() {
  }

  public static long maxTransferBlocks(int blockSize) {
    return MAX_TRANSFER_BYTES / blockSize;
  }

  /** WRITE ATOMIC(16) limit: 1 MiB, written under the range lock in one store write. */
  public static final int MAX_ATOMIC_BYTES = 1 << 20;

  public static long maxAtomicBlocks(int blockSize) {
    return MAX_ATOMIC_BYTES / blockSize;
  }
}
