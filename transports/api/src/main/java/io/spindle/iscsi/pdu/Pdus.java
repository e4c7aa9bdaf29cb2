package io.spindle.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** Builds the typed view of a received PDU from its segments. */
public final class Pdus {

  private Pdus() {
  }

  /**
   * Wraps decoded segments; ownership of all three buffers passes to the returned PDU (the
   * 48 BHS bytes are copied out and {@code bhs} is released).
   */
  public static Pdu wrap(ByteBuf bhs, ByteBuf ahs, ByteBuf data) {
    byte[] header = new byte[Pdu.BHS_LENGTH];
    try {
      bhs.getBytes(bhs.readerIndex(), header);
    } finally {
      bhs.release();
    }
    return wrap(header, ahs, data);
  }

  /**
   * Wraps decoded segments: the PDU keeps {@code bhs} (48 bytes) and takes ownership of
   * {@code ahs} and {@code data}. An opcode this codebase does not know yields a plain
   * {@link Pdu} (the receiver rejects it).
   */
  public static Pdu wrap(byte[] bhs, ByteBuf ahs, ByteBuf data) {
    Opcode op = Opcode.of(bhs[0]);
    if (op == null) return new Pdu(bhs, ahs, data);
    switch (op) {
      case NOP_OUT: return new NopOutPdu(bhs, ahs, data);
      case SCSI_COMMAND: return new ScsiCommandPdu(bhs, ahs, data);
      case TASK_MGMT_REQUEST: return new TaskMgmtRequestPdu(bhs, ahs, data);
      case LOGIN_REQUEST: return new LoginRequestPdu(bhs, ahs, data);
      case TEXT_REQUEST: return new TextRequestPdu(bhs, ahs, data);
      case DATA_OUT: return new DataOutPdu(bhs, ahs, data);
      case LOGOUT_REQUEST: return new LogoutRequestPdu(bhs, ahs, data);
      case SNACK_REQUEST: return new SnackRequestPdu(bhs, ahs, data);
      case NOP_IN: return new NopInPdu(bhs, ahs, data);
      case SCSI_RESPONSE: return new ScsiResponsePdu(bhs, ahs, data);
      case TASK_MGMT_RESPONSE: return new TaskMgmtResponsePdu(bhs, ahs, data);
      case LOGIN_RESPONSE: return new LoginResponsePdu(bhs, ahs, data);
      case TEXT_RESPONSE: return new TextResponsePdu(bhs, ahs, data);
      case DATA_IN: return new DataInPdu(bhs, ahs, data);
      case LOGOUT_RESPONSE: return new LogoutResponsePdu(bhs, ahs, data);
      case R2T: return new R2tPdu(bhs, ahs, data);
      case ASYNC_MESSAGE: return new AsyncMessagePdu(bhs, ahs, data);
      case REJECT: return new RejectPdu(bhs, ahs, data);
      default: throw new AssertionError(op);
    }
  }
}
