package io.spindle.initiator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

class BlockPatternTest {

  @Test
  void blockReadsBackAndSaysWhatIsWrongOtherwise() {
    ByteBuf b = Unpooled.buffer();
    try {
      BlockPattern.write(b, 512, 7, 3, 11);
      BlockPattern.write(b, 512, 8, 3, 11);
      assertEquals(1024, b.readableBytes());
      assertEquals(BlockPattern.MAGIC, b.getLong(512));
      assertEquals(8, b.getLong(520));
      CRC32C c = new CRC32C();
      c.update(b.nioBuffer(0, 508));
      assertEquals((int) c.getValue(), b.getInt(508), "CRC32C of bytes 0..n-5 at the end");
      assertNull(BlockPattern.check(b, 0, 512, 7, 3, 11));
      assertNull(BlockPattern.check(b, 512, 512, 8, 3, 11));
      assertTrue(BlockPattern.check(b, 0, 512, 7, 4, 11).contains("generation 3, expected 4"));
      assertTrue(BlockPattern.check(b, 512, 512, 7, 3, 11).contains("holds the block of LBA 8"));
      b.setByte(100, b.getByte(100) ^ 1);
      assertTrue(BlockPattern.check(b, 0, 512, 7, 3, 11).contains("checksum mismatch"));
    } finally {
      b.release();
    }
  }

  @Test
  void blockSplitAcrossComponentsChecksTheSame() {
    ByteBuf whole = Unpooled.buffer();
    BlockPattern.write(whole, 520, 9, 1, 5);
    CompositeByteBuf split = Unpooled.compositeBuffer();
    split.addComponent(true, whole.retainedSlice(0, 13)).addComponent(true, whole.retainedSlice(13, 507));
    try {
      assertNull(BlockPattern.check(split, 0, 520, 9, 1, 5));
    } finally {
      split.release();
      whole.release();
    }
  }
}
