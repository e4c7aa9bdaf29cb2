package io.spindle.transport.iser;

import io.netty.buffer.ByteBuf;

/**
 * The iSER header in front of every iSCSI control PDU sent as an RDMA Send (RFC 7145 §9.2):
 * opcode and flags, then the initiator's Write STag and Read STag for the task. RFC 5046 §9.2 has
 * a 12-byte header without offsets (tagged offsets start at zero); RFC 7145 adds 64-bit base
 * offsets, giving 28 bytes, which is what Linux, Wireshark and InfiniBand Annex A12 use.
 *
 * @param opcode {@link #CONTROL}, {@link #HELLO} or {@link #HELLO_REPLY}
 * @param writeStagValid WSV: the initiator has a buffer for the target to RDMA Read (SCSI write)
 * @param readStagValid RSV: the initiator has a buffer for the target to RDMA Write (SCSI read)
 * @param writeStag STag of the initiator's Data-Out buffer
 * @param writeBaseOffset tagged offset of the first byte the target is to read (after unsolicited data)
 * @param readStag STag of the initiator's Data-In buffer
 * @param readBaseOffset tagged offset of the Data-In buffer's first byte
 */
public record IserHeader(int opcode, boolean writeStagValid, boolean readStagValid, int writeStag,
    long writeBaseOffset, int readStag, long readBaseOffset) {

  public static final int CONTROL = 0x1;
  public static final int HELLO = 0x2;
  public static final int HELLO_REPLY = 0x3;

  static final int FLAG_WSV = 0x08;
  static final int FLAG_RSV = 0x04;

  /** Header layouts. */
  public enum Format {
    /** RFC 5046: flags, reserved, Write STag, Read STag. */
    RFC5046(12),
    /** RFC 7145: flags, reserved, Write STag, Write Base Offset, Read STag, Read Base Offset. */
    RFC7145(28);

    public final int length;

    Format(int length) {
      this.length = length;
    }
  }

  /** A header for a control PDU the target sends: no STags (RFC 7145 §9.2, target to initiator). */
  public static IserHeader control() {
    return new IserHeader(CONTROL, false, false, 0, 0, 0, 0);
  }

  public void encode(ByteBuf out, Format format) {
    out.writeByte(opcode << 4 | (writeStagValid ? FLAG_WSV : 0) | (readStagValid ? FLAG_RSV : 0));
    out.writeMedium(0);
    out.writeInt(writeStag);
    if (format == Format.RFC7145) out.writeLong(writeBaseOffset);
    out.writeInt(readStag);
    if (format == Format.RFC7145) out.writeLong(readBaseOffset);
  }

  /**
   * Reads a header at the reader index and moves past it. Reserved bits are ignored; fields whose
   * valid bit is clear are returned as zero.
   *
   * @return the header, or null when fewer than {@code format.length} bytes are readable
   */
  public static IserHeader decode(ByteBuf in, Format format) {
    if (in.readableBytes() < format.length) return null;
    int flags = in.readUnsignedByte();
    in.skipBytes(3);
    int writeStag = in.readInt();
    long writeOffset = format == Format.RFC7145 ? in.readLong() : 0;
    int readStag = in.readInt();
    long readOffset = format == Format.RFC7145 ? in.readLong() : 0;
    boolean wsv = (flags & FLAG_WSV) != 0;
    boolean rsv = (flags & FLAG_RSV) != 0;
    return new IserHeader(flags >>> 4, wsv, rsv, wsv ? writeStag : 0, wsv ? writeOffset : 0, rsv ? readStag : 0,
        rsv ? readOffset : 0);
  }
}
