package io.spindle.initiator;

/** The target answered a request with a Reject PDU (RFC 7143 §11.17); {@link #reason()} is its reason code. */
public final class PduRejectedException extends IscsiInitiatorException {
  private static final long serialVersionUID = 1L;
  private final int reason;

  public PduRejectedException(int reason) {
    super("target rejected the PDU, reason 0x" + Integer.toHexString(reason));
    this.reason = reason;
  }

  public int reason() {
    return reason;
  }
}
