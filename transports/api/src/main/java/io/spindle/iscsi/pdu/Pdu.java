package io.spindle.iscsi.pdu;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.AbstractReferenceCounted;
import io.netty.util.ReferenceCounted;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * One iSCSI PDU: the 48-byte Basic Header Segment, optional Additional Header Segments and
 * a data segment (RFC 7143 §11.2). The BHS lives in a plain 48-byte array, copied once out of
 * the received bytes: its fields are read many times per command, and array reads cost no
 * reference-count or bounds bookkeeping, where a ByteBuf slice checks both on every getter
 * (about 6% of the event loop's samples in the 4 KiB profile). The data segment is a retained
 * slice of the received bytes: payloads are never copied.
 *
 * <p>Typed subclasses name the fields of each opcode. A PDU owns its buffers: whoever
 * receives one releases it.
 */
public class Pdu extends AbstractReferenceCounted {

  public static final int BHS_LENGTH = 48;

  // Big-endian views of the BHS array (RFC 7143 §11.2: network byte order); intrinsified by the JIT.
  private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.BIG_ENDIAN);
  private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
  private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

  /** The BHS, exactly {@link #BHS_LENGTH} bytes. */
  protected final byte[] bhs;
  private ByteBuf ahs;
  private ByteBuf data;
  private boolean dataDigestError;

  /** A received PDU; ownership of {@code ahs} and {@code data} passes to it, {@code bhs} is kept as is. */
  protected Pdu(byte[] bhs, ByteBuf ahs, ByteBuf data) {
    if (bhs.length != BHS_LENGTH) throw new IllegalArgumentException("BHS of " + bhs.length + " bytes");
    this.bhs = bhs;
    this.ahs = ahs == null ? Unpooled.EMPTY_BUFFER : ahs;
    this.data = data == null ? Unpooled.EMPTY_BUFFER : data;
  }

  /** A fresh PDU of the given opcode with a zeroed BHS. */
  protected Pdu(Opcode opcode) {
    this(new byte[BHS_LENGTH], null, null);
    bhs[0] = (byte) opcode.code;
  }

  // ---- common BHS fields, RFC 7143 §11.2.1 ----

  public final Opcode opcode() {
    return Opcode.of(bhs[0]);
  }

  public final int rawOpcode() {
    return bhs[0] & 0x3f;
  }

  /** The I bit: immediate delivery (initiator PDUs only). */
  public final boolean immediate() {
    return (bhs[0] & 0x40) != 0;
  }

  public final Pdu immediate(boolean on) {
    setFlag(0, 0x40, on);
    return this;
  }

  /** The F (final) bit, bit 7 of byte 1. */
  public final boolean finalBit() {
    return (bhs[1] & 0x80) != 0;
  }

  public final Pdu finalBit(boolean on) {
    setFlag(1, 0x80, on);
    return this;
  }

  public final int flags() {
    return u8(1);
  }

  public final int totalAhsLength() {
    return u8(4);
  }

  public final int dataSegmentLength() {
    return (u8(5) << 16) | u16(6);
  }

  /** The LUN field (bytes 8-15) as a raw 64-bit value (SAM-5 LUN structure). */
  public final long lun() {
    return (long) LONG.get(bhs, 8);
  }

  public final Pdu lun(long lun) {
    LONG.set(bhs, 8, lun);
    return this;
  }

  /** Initiator Task Tag (bytes 16-19). */
  public final int itt() {
    return int32(16);
  }

  public final Pdu itt(int itt) {
    int32(16, itt);
    return this;
  }

  // ---- segments ----

  /**
   * A view of the BHS array (48 readable bytes; writes go through to this PDU). Not reference
   * counted: it lives as long as this PDU and is not released.
   */
  public final ByteBuf bhs() {
    return Unpooled.wrappedBuffer(bhs);
  }

  /** Appends the 48 BHS bytes to {@code out}. */
  public final void writeBhs(ByteBuf out) {
    out.writeBytes(bhs);
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
    setDataSegmentLength(this.data.readableBytes());
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
    u8(4, this.ahs.readableBytes() / 4);
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

  private void setDataSegmentLength(int length) {
    // RFC 7143 §11.2.1.5: 24 bits, bytes 5-7.
    u8(5, length >>> 16);
    u16(6, length);
  }

  protected final boolean flag(int index, int mask) {
    return (bhs[index] & mask) != 0;
  }

  protected final void setFlag(int index, int mask, boolean on) {
    int b = bhs[index] & 0xff;
    bhs[index] = (byte) (on ? (b | mask) : (b & ~mask));
  }

  protected final int u8(int index) {
    return bhs[index] & 0xff;
  }

  protected final void u8(int index, int value) {
    bhs[index] = (byte) value;
  }

  protected final int u16(int index) {
    return (short) SHORT.get(bhs, index) & 0xffff;
  }

  protected final void u16(int index, int value) {
    SHORT.set(bhs, index, (short) value);
  }

  protected final int int32(int index) {
    return (int) INT.get(bhs, index);
  }

  protected final void int32(int index, int value) {
    INT.set(bhs, index, value);
  }

  /**
   * A 32-bit field read as unsigned (RFC 7143 §11.2: lengths, offsets and counts are unsigned;
   * a value of 2^31 or more is not negative).
   */
  protected final long uint32(int index) {
    return int32(index) & 0xffffffffL;
  }

  @Override
  protected void deallocate() {
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
