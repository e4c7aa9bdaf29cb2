package io.spindle.rdma.iwarp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * An MPA Request or Reply frame (RFC 5044 §7.1): a 16-byte key, the flag bits and revision, the
 * private data length and the private data. With revision 2 and the H bit (RFC 6581 §5) the private
 * data starts with the 4-byte IRD/ORD block, kept here in {@link #privateData} as received.
 *
 * @param reply Reply frame ("MPA ID Rep Frame") rather than Request
 * @param markers M: the sender wants markers on the stream it receives (we never do)
 * @param crc C: use CRC32c
 * @param reject R: a Reply that rejects the connection
 * @param enhanced H: RFC 6581 enhanced connection establishment, the IRD/ORD block is present
 * @param revision 1 (RFC 5044) or 2 (RFC 6581)
 * @param privateData everything after PD_Length
 */
record MpaFrame(boolean reply, boolean markers, boolean crc, boolean reject, boolean enhanced, int revision,
    byte[] privateData) {

  static final byte[] REQUEST_KEY = "MPA ID Req Frame".getBytes(StandardCharsets.US_ASCII);
  static final byte[] REPLY_KEY = "MPA ID Rep Frame".getBytes(StandardCharsets.US_ASCII);
  static final int HEADER_LENGTH = 20;
  /** RFC 5044 §7.1: PD_Length is at most 512. */
  static final int MAX_PRIVATE_DATA = 512;

  static final int FLAG_MARKERS = 0x8000;
  static final int FLAG_CRC = 0x4000;
  static final int FLAG_REJECT = 0x2000;
  static final int FLAG_ENHANCED = 0x1000;

  // RFC 6581 §5: the IRD/ORD block's control bits.
  static final int IRD_PEER_TO_PEER = 0x8000;
  static final int IRD_ZERO_LENGTH_SEND_RTR = 0x4000;
  static final int ORD_ZERO_LENGTH_WRITE_RTR = 0x8000;
  static final int ORD_ZERO_LENGTH_READ_RTR = 0x4000;
  static final int IRD_ORD_MASK = 0x3fff;

  /** The IRD/ORD block's first word, or 0 when absent. */
  int irdWord() {
    return enhanced && privateData.length >= 4 ? ((privateData[0] & 0xff) << 8) | (privateData[1] & 0xff) : 0;
  }

  int ordWord() {
    return enhanced && privateData.length >= 4 ? ((privateData[2] & 0xff) << 8) | (privateData[3] & 0xff) : 0;
  }

  /** The ULP's part of the private data. */
  byte[] ulpPrivateData() {
    if (!enhanced) return privateData;
    return java.util.Arrays.copyOfRange(privateData, Math.min(4, privateData.length), privateData.length);
  }

  static MpaFrame withIrdOrd(boolean reply, boolean crc, boolean reject, int irdWord, int ordWord, byte[] ulp) {
    byte[] pd = new byte[4 + ulp.length];
    pd[0] = (byte) (irdWord >> 8);
    pd[1] = (byte) irdWord;
    pd[2] = (byte) (ordWord >> 8);
    pd[3] = (byte) ordWord;
    System.arraycopy(ulp, 0, pd, 4, ulp.length);
    return new MpaFrame(reply, false, crc, reject, true, 2, pd);
  }

  ByteBuf encode(ByteBufAllocator alloc) {
    ByteBuf out = alloc.buffer(HEADER_LENGTH + privateData.length);
    out.writeBytes(reply ? REPLY_KEY : REQUEST_KEY);
    int bits = (markers ? FLAG_MARKERS : 0) | (crc ? FLAG_CRC : 0) | (reject ? FLAG_REJECT : 0)
        | (enhanced ? FLAG_ENHANCED : 0) | (revision & 0xff);
    out.writeShort(bits);
    out.writeShort(privateData.length);
    out.writeBytes(privateData);
    return out;
  }

  /**
   * Decodes the 20-byte header at the reader index without consuming it.
   *
   * @return the private data length, or -1 if the key is neither Request nor Reply
   */
  static int privateDataLength(ByteBuf in) {
    if (!keyIs(in, REQUEST_KEY) && !keyIs(in, REPLY_KEY)) return -1;
    return in.getUnsignedShort(in.readerIndex() + 18);
  }

  /** Reads a whole frame whose length has been checked. */
  static MpaFrame read(ByteBuf in) {
    boolean reply = keyIs(in, REPLY_KEY);
    in.skipBytes(16);
    int bits = in.readUnsignedShort();
    int length = in.readUnsignedShort();
    byte[] pd = new byte[length];
    in.readBytes(pd);
    return new MpaFrame(reply, (bits & FLAG_MARKERS) != 0, (bits & FLAG_CRC) != 0, (bits & FLAG_REJECT) != 0,
        (bits & FLAG_ENHANCED) != 0, bits & 0xff, pd);
  }

  private static boolean keyIs(ByteBuf in, byte[] key) {
    for (int i = 0; i < key.length; i++) {
      if (in.getByte(in.readerIndex() + i) != key[i]) return false;
    }
    return true;
  }
}
