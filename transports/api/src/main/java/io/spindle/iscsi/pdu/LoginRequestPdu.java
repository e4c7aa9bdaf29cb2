package io.spindle.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** Login Request, RFC 7143 §11.12. */
public final class LoginRequestPdu extends InitiatorPdu {

  public LoginRequestPdu(byte[] bhs, ByteBuf ahs, ByteBuf data) {
    super(bhs, ahs, data);
  }

  public LoginRequestPdu() {
    super(Opcode.LOGIN_REQUEST);
    immediate(true);
  }

  /** T bit: the initiator is ready to transit to the next stage. */
  public boolean transit() {
    return flag(1, 0x80);
  }

  public LoginRequestPdu transit(boolean on) {
    setFlag(1, 0x80, on);
    return this;
  }

  public boolean continueBit() {
    return flag(1, 0x40);
  }

  public LoginRequestPdu continueBit(boolean on) {
    setFlag(1, 0x40, on);
    return this;
  }

  /** CSG: 0 security negotiation, 1 login operational negotiation, 3 full feature phase. */
  public int csg() {
    return (u8(1) >> 2) & 3;
  }

  public int nsg() {
    return u8(1) & 3;
  }

  public LoginRequestPdu stages(int csg, int nsg) {
    u8(1, (u8(1) & 0xf0) | ((csg & 3) << 2) | (nsg & 3));
    return this;
  }

  public int versionMax() {
    return u8(2);
  }

  public int versionMin() {
    return u8(3);
  }

  /** ISID, the 6-byte initiator part of the session identifier (RFC 7143 §11.12.5). */
  public long isid() {
    return ((long) u16(8) << 32) | (int32(10) & 0xffffffffL);
  }

  public LoginRequestPdu isid(long isid) {
    u16(8, (int) (isid >>> 32));
    int32(10, (int) isid);
    return this;
  }

  public int tsih() {
    return u16(14);
  }

  public LoginRequestPdu tsih(int v) {
    u16(14, v);
    return this;
  }

  public int cid() {
    return u16(20);
  }

  public LoginRequestPdu cid(int v) {
    u16(20, v);
    return this;
  }
}
