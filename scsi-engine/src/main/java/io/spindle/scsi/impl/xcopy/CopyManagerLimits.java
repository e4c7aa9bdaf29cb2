package io.spindle.scsi.impl.xcopy;

import io.netty.buffer.ByteBuf;

/**
 * What the copy manager of every logical unit supports (SPC-4 §5.17 third-party copy, LID1
 * EXTENDED COPY only): the limits RECEIVE COPY RESULTS OPERATING PARAMETERS and the
 * Third-party Copy VPD page report, and which the parameter list checks enforce.
 */
public final class CopyManagerLimits {

  /** CSCD (target) descriptors in one parameter list. */
  public static final int MAX_CSCD_DESCRIPTORS = 8;
  /** Segment descriptors in one parameter list. */
  public static final int MAX_SEGMENT_DESCRIPTORS = 64;
  /**
   * CSCD plus segment descriptor bytes: exactly the maxima above filled with identification
   * descriptors (32 bytes) and block-to-block segments (28 bytes).
   */
  public static final int MAX_DESCRIPTOR_LIST_LENGTH = MAX_CSCD_DESCRIPTORS * 32 + MAX_SEGMENT_DESCRIPTORS * 28;
  /** Copies running at once in one logical unit's copy manager. */
  public static final int MAX_CONCURRENT_COPIES = 16;
  /** List identifiers whose status is held per I_T nexus; the oldest completed are dropped first. */
  public static final int HELD_STATUSES_PER_NEXUS = 32;
  /** Bytes moved per storage worker job; the destination range is locked for one chunk at a time. */
  public static final int CHUNK_BYTES = 1 << 20;

  /** Descriptor type codes this copy manager implements (SPC-4 tables 107 and 108). */
  public static final int SEGMENT_BLOCK_TO_BLOCK = 0x02;
  public static final int CSCD_IDENTIFICATION = 0xE4;

  private CopyManagerLimits() {
  }

  /** Largest segment in bytes: the 16-bit BLOCK DEVICE NUMBER OF BLOCKS of a 02h descriptor. */
  public static long maxSegmentBytes(int blockSize) {
    return 0xFFFFL * blockSize;
  }

  /** RECEIVE COPY RESULTS, OPERATING PARAMETERS (SPC-4 §6.18.4). */
  public static void operatingParameters(ByteBuf b, int blockSize) {
    int start = b.writerIndex();
    b.writeInt(0); // AVAILABLE DATA, set below
    b.writeByte(0x01); // SNLID: LIST ID USAGE 11b (no list identifier) is supported
    b.writeZero(3);
    b.writeShort(MAX_CSCD_DESCRIPTORS);
    b.writeShort(MAX_SEGMENT_DESCRIPTORS);
    b.writeInt(MAX_DESCRIPTOR_LIST_LENGTH);
    b.writeInt((int) Math.min(0xFFFFFFFFL, maxSegmentBytes(blockSize)));
    b.writeInt(0); // MAXIMUM INLINE DATA LENGTH: no inline or embedded data
    b.writeInt(0); // HELD DATA LIMIT: no segment holds data
    b.writeInt(0); // MAXIMUM STREAM DEVICE TRANSFER SIZE: no stream devices
    b.writeShort(0);
    b.writeShort(MAX_CONCURRENT_COPIES); // TOTAL CONCURRENT COPIES
    b.writeByte(MAX_CONCURRENT_COPIES); // MAXIMUM CONCURRENT COPIES
    b.writeByte(Integer.numberOfTrailingZeros(blockSize)); // DATA SEGMENT GRANULARITY (log2)
    b.writeByte(0); // INLINE DATA GRANULARITY
    b.writeByte(0); // HELD DATA GRANULARITY
    b.writeZero(3);
    b.writeByte(2); // IMPLEMENTED DESCRIPTOR LIST LENGTH
    b.writeByte(SEGMENT_BLOCK_TO_BLOCK).writeByte(CSCD_IDENTIFICATION);
    b.setInt(start, b.writerIndex() - start - 4);
  }

  /**
   * The Third-party Copy VPD page (SPC-4 §7.8.17) for a copy manager that supports only the
   * LID1 EXTENDED COPY and RECEIVE COPY RESULTS commands.
   */
  public static void vpdPage(ByteBuf b, int blockSize) {
    int start = b.writerIndex();
    b.writeByte(0).writeByte(0x8F).writeShort(0);
    // Supported Commands descriptor (0001h): EXTENDED COPY(LID1); RECEIVE COPY RESULTS
    // COPY STATUS and OPERATING PARAMETERS.
    int d = descriptorStart(b, 0x0001);
    b.writeByte(2 + 1 + 2 + 2); // COMMANDS SUPPORTED LIST LENGTH
    b.writeByte(0x83).writeByte(1).writeByte(0x00);
    b.writeByte(0x84).writeByte(2).writeByte(0x00).writeByte(0x03);
    descriptorEnd(b, d);
    // Parameter Data descriptor (0004h).
    d = descriptorStart(b, 0x0004);
    b.writeZero(4);
    b.writeShort(MAX_CSCD_DESCRIPTORS).writeShort(MAX_SEGMENT_DESCRIPTORS);
    b.writeInt(MAX_DESCRIPTOR_LIST_LENGTH);
    b.writeInt(0); // MAXIMUM INLINE DATA LENGTH
    b.writeZero(12);
    descriptorEnd(b, d);
    // Supported Descriptors descriptor (0008h).
    d = descriptorStart(b, 0x0008);
    b.writeByte(2).writeByte(SEGMENT_BLOCK_TO_BLOCK).writeByte(CSCD_IDENTIFICATION);
    descriptorEnd(b, d);
    // Supported CSCD Descriptor IDs descriptor (000Ch): none (no F800h-style shortcuts).
    d = descriptorStart(b, 0x000C);
    b.writeShort(0);
    descriptorEnd(b, d);
    // General Copy Operations descriptor (8001h).
    d = descriptorStart(b, 0x8001);
    b.writeInt(MAX_CONCURRENT_COPIES); // TOTAL CONCURRENT COPIES
    b.writeInt(MAX_CONCURRENT_COPIES); // MAXIMUM IDENTIFIED CONCURRENT COPIES
    b.writeInt((int) Math.min(0xFFFFFFFFL, maxSegmentBytes(blockSize))); // MAXIMUM SEGMENT LENGTH
    b.writeByte(Integer.numberOfTrailingZeros(blockSize)); // DATA SEGMENT GRANULARITY (log2)
    b.writeByte(0); // INLINE DATA GRANULARITY
    b.writeZero(18);
    descriptorEnd(b, d);
    b.setShort(start + 2, b.writerIndex() - start - 4);
  }

  private static int descriptorStart(ByteBuf b, int type) {
    int at = b.writerIndex();
    b.writeShort(type).writeShort(0);
    return at;
  }

  /** Pads the descriptor to a multiple of four bytes and fills in its DESCRIPTOR LENGTH. */
  private static void descriptorEnd(ByteBuf b, int at) {
    while (((b.writerIndex() - at) & 3) != 0) b.writeByte(0);
    b.setShort(at + 2, b.writerIndex() - at - 4);
  }
}
