package io.spindle.scsi.impl.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** READ and WRITE tried on the event loop with RWF_NOWAIT, and the cases that must fall back to a worker. */
class FileBackingStoreNoWaitTest {

  @TempDir
  Path dir;

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static byte[] bytes(ByteBuf b) {
    byte[] out = new byte[b.readableBytes()];
    b.getBytes(b.readerIndex(), out);
    return out;
  }

  @Test
  void cachedDataIsReadAndWrittenWithoutAWorker() throws Exception {
    assumeTrue(LinuxFiles.Direct.AVAILABLE, "preadv2/pwritev2 need Linux and glibc");
    try (Store s = new Store(FileBackingStore.open(dir.resolve("lun.img"), 1 << 20, false))) {
      byte[] first = random(8192, 1);
      ByteBuf src = PooledByteBufAllocator.DEFAULT.directBuffer(8192).writeBytes(first);
      try {
        s.store.write(src, 4096);
      } finally {
        src.release();
      }
      ByteBuf dst = PooledByteBufAllocator.DEFAULT.directBuffer(8192);
      try {
        // Just written, so in the page cache: the non-blocking read succeeds.
        assertTrue(s.store.tryRead(dst, 4096, 8192), "a cached range reads without blocking");
        assertArrayEquals(first, bytes(dst));
      } finally {
        dst.release();
      }
      byte[] second = random(4096, 2);
      ByteBuf w = PooledByteBufAllocator.DEFAULT.directBuffer(4096).writeBytes(second);
      try {
        if (s.store.tryWrite(w, 65536)) {
          assertEquals(0, w.readerIndex(), "tryWrite does not consume its source");
        } else {
          s.store.write(w, 65536); // a file system without non-blocking buffered writes
        }
      } finally {
        w.release();
      }
      ByteBuf back = Unpooled.directBuffer(4096);
      try {
        s.store.read(back, 65536, 4096);
        assertArrayEquals(second, bytes(back));
      } finally {
        back.release();
      }
    }
  }

  @Test
  void whatCannotBeDoneInPlaceIsLeftUntouchedForTheWorker() throws Exception {
    try (Store s = new Store(FileBackingStore.open(dir.resolve("lun.img"), 1 << 20, false))) {
      // A heap buffer has no native address to read into.
      ByteBuf heap = Unpooled.buffer(4096);
      assertFalse(s.store.tryRead(heap, 0, 4096));
      assertEquals(0, heap.writerIndex());
      // Past the end of the file.
      ByteBuf dst = PooledByteBufAllocator.DEFAULT.directBuffer(4096);
      try {
        assertFalse(s.store.tryRead(dst, (1 << 20) - 2048, 4096));
        assertEquals(0, dst.writerIndex());
      } finally {
        dst.release();
      }
      // A write in two pieces goes to the worker, which writes it with one gathering call.
      ByteBuf two = Unpooled.wrappedBuffer(Unpooled.directBuffer(512).writeZero(512),
          Unpooled.directBuffer(512).writeZero(512));
      try {
        assertFalse(s.store.tryWrite(two, 0));
      } finally {
        two.release();
      }
    }
  }

  /** Closes the store after the test. */
  private record Store(FileBackingStore store) implements AutoCloseable {
    @Override
    public void close() throws Exception {
      store.close();
    }
  }
}
