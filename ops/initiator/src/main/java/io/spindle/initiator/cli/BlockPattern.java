package io.spindle.initiator.cli;

import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
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

  /**
   * Writes one block of {@code size} bytes at the writer index. The block is built in a heap
   * buffer and written with one call: under Netty's paranoid leak detection (the test suites'
   * level) every call on a tracked ByteBuf records a stack trace, and one call per 8 bytes made a
   * 1 MiB command cost 131072 of them (the iSER ITs' workload ran at about 2 commands a second).
   */
  public static void write(ByteBuf out, int size, long lba, long generation, long seed) {
    ByteBuffer b = ByteBuffer.allocate(size);
    b.putLong(MAGIC).putLong(lba).putLong(generation).putLong(seed);
    long x = mix(lba, generation, seed);
    int fill = size - HEADER - 4;
    int i = 0;
    for (; i + 8 <= fill; i += 8) {
      x = next(x);
      b.putLong(x);
    }
    for (; i < fill; i++) {
      x = next(x);
      b.put((byte) x);
    }
    b.putInt(crc(b, 0, size - 4));
    out.writeBytes(b.array());
  }

  /**
   * Checks the block of {@code size} bytes at {@code offset}; null when it is exactly what
   * {@link #write} made for this LBA, generation and seed, else what is wrong. Reads through one
   * NIO view of the block, for the reason given at {@link #write}.
   */
  public static String check(ByteBuf in, int offset, int size, long lba, long generation, long seed) {
    ByteBuffer view = in.nioBuffer(offset, size);
    int base = view.position();
    if (view.getLong(base) != MAGIC) return "LBA " + lba + ": no block header (never written, or overwritten)";
    long gotLba = view.getLong(base + 8);
    long gotGen = view.getLong(base + 16);
    long gotSeed = view.getLong(base + 24);
    if (view.getInt(base + size - 4) != crc(view, base, size - 4)) return "LBA " + lba + ": checksum mismatch (torn)";
    if (gotLba != lba) return "LBA " + lba + ": holds the block of LBA " + gotLba;
    if (gotSeed != seed) return "LBA " + lba + ": written by another run (seed " + gotSeed + ")";
    if (gotGen != generation) return "LBA " + lba + ": generation " + gotGen + ", expected " + generation;
    long x = mix(lba, generation, seed);
    int fill = size - HEADER - 4;
    int p = base + HEADER;
    int i = 0;
    for (; i + 8 <= fill; i += 8) {
      x = next(x);
      if (view.getLong(p + i) != x) return "LBA " + lba + ": pattern differs at byte " + (HEADER + i);
    }
    for (; i < fill; i++) {
      x = next(x);
      if (view.get(p + i) != (byte) x) return "LBA " + lba + ": pattern differs at byte " + (HEADER + i);
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

  private static int crc(ByteBuffer b, int from, int length) {
    CRC32C c = new CRC32C();
    c.update(b.duplicate().limit(from + length).position(from));
    return (int) c.getValue();
  }
}
