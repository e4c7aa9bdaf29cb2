package io.spindle.iscsi.pdu;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/** SCSI Command, RFC 7143 §11.3. */
public final class ScsiCommandPdu extends InitiatorPdu {

  public ScsiCommandPdu(byte[] bhs, ByteBuf ahs, ByteBuf data) {
    super(bhs, ahs, data);
  }

  public ScsiCommandPdu() {
    super(Opcode.SCSI_COMMAND);

  }

  /** R bit: data will be read from the target. */
  public boolean read() {
    return flag(1, 0x40);
  }

  public ScsiCommandPdu read(boolean on) {
    setFlag(1, 0x40, on);
    return this;
  }

  /** W bit: data will be written to the target. */
  public boolean write() {
    return flag(1, 0x20);
  }

  public ScsiCommandPdu write(boolean on) {
    setFlag(1, 0x20, on);
    return this;
  }

  /** Task attribute (ATTR), RFC 7143 §11.3.1.3: 0 untagged, 1 simple, 2 ordered, 3 head of queue, 4 ACA. */
  public int taskAttribute() {
    return u8(1) & 0x07;
  }

  public ScsiCommandPdu taskAttribute(int attr) {
    u8(1, (u8(1) & ~0x07) | (attr & 0x07));
    return this;
  }

  /** Expected Data Transfer Length, RFC 7143 §11.3.5: unsigned, 0 .. 2^32 - 1. */
  public long expectedDataTransferLength() {
    return uint32(20);
  }

  /** Sets the EDTL; the low 32 bits of {@code v} are sent (an int is taken as its unsigned value). */
  public ScsiCommandPdu expectedDataTransferLength(long v) {
    int32(20, (int) v);
    return this;
  }

  /**
   * The 16-byte CDB field as a view of the BHS array (an extended CDB continues in an AHS of
   * type 1). The view is not reference counted: it lives as long as this PDU.
   */
  public ByteBuf cdb() {
    return Unpooled.wrappedBuffer(bhs, 32, 16);
  }

  public ScsiCommandPdu cdb(byte[] cdb) {
    if (cdb.length > 16) throw new IllegalArgumentException("CDB longer than 16 bytes needs an extended-CDB AHS");
    java.util.Arrays.fill(bhs, 32, 48, (byte) 0);
    System.arraycopy(cdb, 0, bhs, 32, cdb.length);
    return this;
  }
}
