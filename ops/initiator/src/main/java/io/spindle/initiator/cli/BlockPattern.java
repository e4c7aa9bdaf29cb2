package io.spindle.initiator.cli;

import io.netty.buffer.ByteBuf;
import java.util.zip.CRC32C;

/**
 * Self-describing block contents for the verify workload. Each block starts with a header
 * (magic, LBA, write generation, run seed), is filled with bytes derived from those three, and
 * ends with a CRC32C of everything before it; so a block read back can say on its own whether
 * it is intact, and the workload can say whether it is the generation it last wrote there.
 *
 * <pre>
 *   0  8  magic "SPNDLVFY"
 *   8  8  LBA
 *  16  8  generation (1, 2, ...)
 *  24  8  seed
 *  32  .. pattern
 * n-4  4  CRC32C of bytes 0..n-5
 * </pre>
 */
public final class BlockPattern {

  static final long MAGIC = 0x53504e444c564659L; // "SPNDLVFY"
  static final int HEADER = 32;

  private BlockPattern() {
  }

  /** Writes one block of {@code size} bytes at the writer index. */
  public static void write(ByteBuf out, int size, long lba, long generation, long seed) {
    int start = out.writerIndex();
    out.writeLong(MAGIC).writeLong(lba).writeLong(generation).writeLong(seed);
    long x = mix(lba, generation, seed);
    int fill = size - HEADER - 4;
    int i = 0;
    for (; i + 8 <= fill; i += 8) {
      x = next(x);
      out.writeLong(x);
    }
    for (; i < fill; i++) {
      x = next(x);
      out.writeByte((int) x);
    }
    out.writeInt(crc(out, start, size - 4));
  }

  /**
   * Checks the block of {@code size} bytes at {@code offset}; null when it is exactly what
   * {@link #write} made for this LBA, generation and seed, else what is wrong.
   */
  public static String check(ByteBuf in, int offset, int size, long lba, long generation, long seed) {
    if (in.getLong(offset) != MAGIC) return "LBA " + lba + ": no block header (never written, or overwritten)";
    long gotLba = in.getLong(offset + 8);
    long gotGen = in.getLong(offset + 16);
    long gotSeed = in.getLong(offset + 24);
    if (in.getInt(offset + size - 4) != crc(in, offset, size - 4)) return "LBA " + lba + ": checksum mismatch (torn)";
    if (gotLba != lba) return "LBA " + lba + ": holds the block of LBA " + gotLba;
    if (gotSeed != seed) return "LBA " + lba + ": written by another run (seed " + gotSeed + ")";
    if (gotGen != generation) return "LBA " + lba + ": generation " + gotGen + ", expected " + generation;
    long x = mix(lba, generation, seed);
    int fill = size - HEADER - 4;
    int p = offset + HEADER;
    int i = 0;
    for (; i + 8 <= fill; i += 8) {
      x = next(x);
      if (in.getLong(p + i) != x) return "LBA " + lba + ": pattern differs at byte " + (HEADER + i);
    }
    for (; i < fill; i++) {
      x = next(x);
      if (in.getByte(p + i) != (byte) x) return "LBA " + lba + ": pattern differs at byte " + (HEADER + i);
    }
    return null;
  }

  private static long mix(long lba, long generation, long seed) {
    long z = seed ^ (lba * 0x9E3779B97F4A7C15L) ^ (generation * 0xC2B2AE3D27D4EB4FL);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31) | 1;
  }

  /** xorshift64: cheap, and never stuck at zero since the start is odd. */
  private static long next(long x) {
    x ^= x << 13;
    x ^= x >>> 7;
    x ^= x << 17;
    return x;
  }

  private static int crc(ByteBuf b, int from, int length) {
    CRC32C c = new CRC32C();
    c.update(b.nioBuffer(from, length));
    return (int) c.getValue();
  }
}
