package io.spindle.iscsi.pdu;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.AbstractReferenceCounted;
import io.netty.util.ReferenceCounted;

/**
 * One iSCSI PDU: the 48-byte Basic Header Segment, optional Additional Header Segments and
 * a data segment (RFC 7143 §11.2). Fields are read and written in place in the BHS buffer,
 * so a decoded PDU costs no copy; the data segment is a retained slice of the received bytes.
 *
 * <p>Typed subclasses name the fields of each opcode. A PDU owns its buffers: whoever
 * receives one releases it.
 */
public class Pdu extends AbstractReferenceCounted {

  public static final int BHS_LENGTH = 48;

  protected final ByteBuf bhs;
  private ByteBuf ahs;
  private ByteBuf data;
  private boolean dataDigestError;

  protected Pdu(ByteBuf bhs, ByteBuf ahs, ByteBuf data) {
    this.bhs = bhs;
    this.ahs = ahs == null ? Unpooled.EMPTY_BUFFER : ahs;
    this.data = data == null ? Unpooled.EMPTY_BUFFER : data;
  }

  /**
   * A fresh PDU of the given opcode with a zeroed BHS. The BHS wraps a plain byte[] (readable,
   * 48 bytes, fixed capacity), not an allocator buffer: no allocator bookkeeping per PDU.
   */
  protected Pdu(Opcode opcode) {
    this(Unpooled.wrappedBuffer(new byte[BHS_LENGTH]), null, null);
    bhs.setByte(0, opcode.code);
  }

  // ---- common BHS fields, RFC 7143 §11.2.1 ----

  public final Opcode opcode() {
    return Opcode.of(bhs.getByte(0));
  }

  public final int rawOpcode() {
    return bhs.getByte(0) & 0x3f;
  }

  /** The I bit: immediate delivery (initiator PDUs only). */
  public final boolean immediate() {
    return (bhs.getByte(0) & 0x40) != 0;
  }

  public final Pdu immediate(boolean on) {
    bhs.setByte(0, (bhs.getByte(0) & 0xbf) | (on ? 0x40 : 0));
    return this;
  }

  /** The F (final) bit, bit 7 of byte 1. */
  public final boolean finalBit() {
    return (bhs.getByte(1) & 0x80) != 0;
  }

  public final Pdu finalBit(boolean on) {
    setFlag(1, 0x80, on);
    return this;
  }

  public final int flags() {
    return bhs.getByte(1) & 0xff;
  }

  public final int totalAhsLength() {
    return bhs.getByte(4) & 0xff;
  }

  public final int dataSegmentLength() {
    return bhs.getUnsignedMedium(5);
  }

  /** The LUN field (bytes 8-15) as a raw 64-bit value (SAM-5 LUN structure). */
  public final long lun() {
    return bhs.getLong(8);
  }

  public final Pdu lun(long lun) {
    bhs.setLong(8, lun);
    return this;
  }

  /** Initiator Task Tag (bytes 16-19). */
  public final int itt() {
    return bhs.getInt(16);
  }

  public final Pdu itt(int itt) {
    bhs.setInt(16, itt);
    return this;
  }

  // ---- segments ----

  public final ByteBuf bhs() {
    return bhs;
  }

  public final ByteBuf ahs() {
    return ahs;
  }

  public final ByteBuf data() {
    return data;
  }

  /** Replaces the data segment (ownership passes to this PDU) and updates DataSegmentLength. */
  public final Pdu data(ByteBuf newData) {
    ByteBuf old = this.data;
    this.data = newData == null ? Unpooled.EMPTY_BUFFER : newData;
    bhs.setMedium(5, this.data.readableBytes());
    old.release();
    return this;
  }

  /** Sets an AHS (ownership passes to this PDU) and updates TotalAHSLength. Length must be a multiple of 4. */
  public final Pdu ahs(ByteBuf newAhs) {
    ByteBuf old = this.ahs;
    this.ahs = newAhs == null ? Unpooled.EMPTY_BUFFER : newAhs;
    if ((this.ahs.readableBytes() & 3) != 0) {
      throw new IllegalArgumentException("AHS length " + this.ahs.readableBytes() + " is not a multiple of 4");
    }
    bhs.setByte(4, this.ahs.readableBytes() / 4);
    old.release();
    return this;
  }

  /** True when the decoder found the data digest wrong; the data is then not to be trusted. */
  public final boolean dataDigestError() {
    return dataDigestError;
  }

  /** Set by the decoder when the received data digest does not match. */
  public final void markDataDigestError() {
    dataDigestError = true;
  }

  // ---- helpers for subclasses ----

  protected final boolean flag(int index, int mask) {
    return (bhs.getByte(index) & mask) != 0;
  }

  protected final void setFlag(int index, int mask, boolean on) {
    int b = bhs.getByte(index) & 0xff;
    bhs.setByte(index, on ? (b | mask) : (b & ~mask));
  }

  protected final int u8(int index) {
    return bhs.getByte(index) & 0xff;
  }

  protected final int int32(int index) {
    return bhs.getInt(index);
  }

  protected final void int32(int index, int value) {
    bhs.setInt(index, value);
  }

  @Override
  protected void deallocate() {
    bhs.release();
    ahs.release();
    data.release();
  }

  @Override
  public Pdu touch(Object hint) {
    data.touch(hint);
    return this;
  }

  @Override
  public Pdu retain() {
    super.retain();
    return this;
  }

  @Override
  public String toString() {
    Opcode op = opcode();
    return (op == null ? "opcode 0x" + Integer.toHexString(rawOpcode()) : op.name())
        + "{itt=0x" + Integer.toHexString(itt()) + ", data=" + dataSegmentLength() + "}";
  }

  /** Releases a reference-counted object, ignoring null. */
  public static void release(ReferenceCounted rc) {
    if (rc != null && rc.refCnt() > 0) rc.release();
  }
}
