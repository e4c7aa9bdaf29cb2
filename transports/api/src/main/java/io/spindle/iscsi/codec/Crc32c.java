package io.spindle.iscsi.codec;

import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * CRC32C digests as iSCSI puts them on the wire (RFC 7143 §13.1): the final CRC value
 * transmitted least significant byte first.
 */
public final class Crc32c {

  private Crc32c() {
  }

  /** CRC32C of {@code length} bytes of {@code buf} from {@code index}, without moving indexes or copying. */
  public static int of(ByteBuf buf, int index, int length) {
    CRC32C crc = new CRC32C();
    update(crc, buf, index, length);
    return (int) crc.getValue();
  }

  public static void update(CRC32C crc, ByteBuf buf, int index, int length) {
    if (length == 0) return;
    if (buf.nioBufferCount() == 1) {
      crc.update(buf.nioBuffer(index, length));
    } else {
      for (ByteBuffer b : buf.nioBuffers(index, length)) crc.update(b);
    }
  }

  public static void updateZeros(CRC32C crc, int count) {
    for (int i = 0; i < count; i++) crc.update(0);
  }
}
