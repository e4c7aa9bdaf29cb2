package io.spindle.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** Login Response, RFC 7143 §11.13. */
public final class LoginResponsePdu extends TargetPdu {

  public LoginResponsePdu(byte[] bhs, ByteBuf ahs, ByteBuf data) {
    super(bhs, ahs, data);
  }

  public LoginResponsePdu() {
    super(Opcode.LOGIN_RESPONSE);

  }

  public boolean transit() {
    return flag(1, 0x80);
  }

  public LoginResponsePdu transit(boolean on) {
    setFlag(1, 0x80, on);
    return this;
  }

  public boolean continueBit() {
    return flag(1, 0x40);
  }

  public LoginResponsePdu continueBit(boolean on) {
    setFlag(1, 0x40, on);
    return this;
  }

  public int csg() {
    return (u8(1) >> 2) & 3;
  }

  public int nsg() {
    return u8(1) & 3;
  }

  public LoginResponsePdu stages(int csg, int nsg) {
    u8(1, (u8(1) & 0xf0) | ((csg & 3) << 2) | (nsg & 3));
    return this;
  }

  public LoginResponsePdu versions(int max, int active) {
    u8(2, max);
    u8(3, active);
    return this;
  }

  public int versionActive() {
    return u8(3);
  }

  public long isid() {
    return ((long) u16(8) << 32) | (int32(10) & 0xffffffffL);
  }

  public LoginResponsePdu isid(long isid) {
    u16(8, (int) (isid >>> 32));
    int32(10, (int) isid);
    return this;
  }

  public int tsih() {
    return u16(14);
  }

  public LoginResponsePdu tsih(int v) {
    u16(14, v);
    return this;
  }

  public int statusClass() {
    return u8(36);
  }

  public int statusDetail() {
    return u8(37);
  }

  public LoginResponsePdu status(int statusClass, int statusDetail) {
    u8(36, statusClass);
    u8(37, statusDetail);
    return this;
  }
}
