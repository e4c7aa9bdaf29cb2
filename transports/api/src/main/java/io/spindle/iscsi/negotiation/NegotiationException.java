package io.spindle.iscsi.negotiation;

/**
 * A negotiation that cannot go on. On the target it carries the Login Response status the
 * server must send before closing the connection (RFC 7143 §11.13.5); on the initiator the
 * connection is simply dropped (RFC 7143 §6.2, §6.7).
 */
public final class NegotiationException extends Exception {
  private static final long serialVersionUID = 1L;

  /** RFC 7143 §11.13.5 status 0x0200: initiator error (e.g. a key negotiated twice, RFC 7143 §6.1). */
  public static final int INITIATOR_ERROR = 0x0200;
  /** Status 0x0205: session type not supported. */
  public static final int SESSION_TYPE_NOT_SUPPORTED = 0x0205;
  /** Status 0x0207: missing parameter (InitiatorName, or TargetName on a Normal session). */
  public static final int MISSING_PARAMETER = 0x0207;

  private final int status;

  public NegotiationException(int status, String message) {
    super(message);
    this.status = status;
  }

  /** Status-Class in the high byte, Status-Detail in the low byte. */
  public int status() {
    return status;
  }

  public int statusClass() {
    return status >>> 8;
  }

  public int statusDetail() {
    return status & 0xff;
  }
}
