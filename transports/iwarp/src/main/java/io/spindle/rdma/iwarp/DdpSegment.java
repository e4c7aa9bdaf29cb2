package io.spindle.rdma.iwarp;

import io.netty.buffer.ByteBuf;

/**
 * One DDP segment (RFC 5041 §4) with its RDMAP opcode (RFC 5040 §4.3): the headers as fields and
 * the payload as a retained slice, which the receiver of the segment releases.
 *
 * <p>Tagged segments carry STag and tagged offset; untagged ones carry the RsvdULP word (the STag
 * to invalidate for Send with Invalidate), the queue number, message sequence number and message
 * offset.
 */
record DdpSegment(int opcode, boolean tagged, boolean last, int stag, long taggedOffset, int rsvdUlp, int queue,
    int msn, int messageOffset, ByteBuf payload) {

  // RFC 5040 §4.3 opcodes.
  static final int RDMA_WRITE = 0;
  static final int READ_REQUEST = 1;
  static final int READ_RESPONSE = 2;
  static final int SEND = 3;
  static final int SEND_INVALIDATE = 4;
  static final int SEND_SE = 5;
  static final int SEND_SE_INVALIDATE = 6;
  static final int TERMINATE = 7;

  // RFC 5040 §5: untagged queues.
  static final int QN_SEND = 0;
  static final int QN_READ_REQUEST = 1;
  static final int QN_TERMINATE = 2;

  /** Control word, DDP header and RDMAP control: 2 + 12 bytes. */
  static final int TAGGED_HEADER_LENGTH = 14;
  /** 2 + 16 bytes. */
  static final int UNTAGGED_HEADER_LENGTH = 18;
  /** RFC 5040 §4.4: the RDMA Read Request header after the untagged DDP header. */
  static final int READ_REQUEST_LENGTH = 28;

  // RFC 5041 §4.2 / RFC 5040 §4.2: T, L, DV = 1, RV = 1.
  static final int FLAG_TAGGED = 0x8000;
  static final int FLAG_LAST = 0x4000;
  static final int RESERVED_MASK = 0x3c30;
  static final int DDP_VERSION_MASK = 0x0300;
  static final int RDMAP_VERSION_MASK = 0x00c0;
  static final int VERSIONS = 0x0100 | 0x0040;

  static DdpSegment tagged(int opcode, boolean last, int stag, long to, ByteBuf payload) {
    return new DdpSegment(opcode, true, last, stag, to, 0, 0, 0, 0, payload);
  }

  static DdpSegment untagged(int opcode, boolean last, int rsvdUlp, int queue, int msn, int mo, ByteBuf payload) {
    return new DdpSegment(opcode, false, last, 0, 0, rsvdUlp, queue, msn, mo, payload);
  }

  int headerLength() {
    return tagged ? TAGGED_HEADER_LENGTH : UNTAGGED_HEADER_LENGTH;
  }

  int control() {
    return (tagged ? FLAG_TAGGED : 0) | (last ? FLAG_LAST : 0) | VERSIONS | (opcode & 0xf);
  }

  void writeHeader(ByteBuf out) {
    out.writeShort(control());
    if (tagged) {
      out.writeInt(stag);
      out.writeLong(taggedOffset);
    } else {
      out.writeInt(rsvdUlp);
      out.writeInt(queue);
      out.writeInt(msn);
      out.writeInt(messageOffset);
    }
  }

  @Override
  public String toString() {
    return (tagged ? "tagged" : "untagged") + "{op=" + opcode + (last ? ", L" : "")
        + (tagged ? ", stag=0x" + Integer.toHexString(stag) + ", to=0x" + Long.toHexString(taggedOffset)
            : ", qn=" + queue + ", msn=" + msn + ", mo=" + messageOffset)
        + ", len=" + (payload == null ? 0 : payload.readableBytes()) + "}";
  }
}
