package io.spindle.initiator;

/**
 * The target ended the login with a non-zero status (RFC 7143 §11.13.5), or the login broke
 * the protocol. {@link #statusClass()} 1 is a redirection: {@link #targetAddress()} says where to.
 */
public final class LoginException extends IscsiInitiatorException {
  private static final long serialVersionUID = 1L;

  public static final int CLASS_SUCCESS = 0;
  public static final int CLASS_REDIRECTION = 1;
  public static final int CLASS_INITIATOR_ERROR = 2;
  public static final int CLASS_TARGET_ERROR = 3;
  /** Not a status from the target: the exchange itself failed (bad answer, unsupported AuthMethod). */
  public static final int CLASS_PROTOCOL = -1;

  private final int statusClass;
  private final int statusDetail;
  private final String targetAddress;

  public LoginException(int statusClass, int statusDetail, String targetAddress) {
    super("login failed: status class " + statusClass + " detail 0x" + Integer.toHexString(statusDetail)
        + " (" + describe(statusClass, statusDetail) + ")"
        + (targetAddress == null ? "" : ", TargetAddress=" + targetAddress));
    this.statusClass = statusClass;
    this.statusDetail = statusDetail;
    this.targetAddress = targetAddress;
  }

  public LoginException(String message) {
    super("login failed: " + message);
    this.statusClass = CLASS_PROTOCOL;
    this.statusDetail = 0;
    this.targetAddress = null;
  }

  public int statusClass() {
    return statusClass;
  }

  public int statusDetail() {
    return statusDetail;
  }

  /** The TargetAddress of a redirection, or null. */
  public String targetAddress() {
    return targetAddress;
  }

  /** RFC 7143 §11.13.5 status names. */
  public static String describe(int statusClass, int statusDetail) {
    int code = (statusClass << 8) | statusDetail;
    switch (code) {
      case 0x0101: return "target moved temporarily";
      case 0x0102: return "target moved permanently";
      case 0x0200: return "initiator error";
      case 0x0201: return "authentication failure";
      case 0x0202: return "authorization failure";
      case 0x0203: return "not found";
      case 0x0204: return "target removed";
      case 0x0205: return "unsupported version";
      case 0x0206: return "too many connections";
      case 0x0207: return "missing parameter";
      case 0x0208: return "can't include in session";
      case 0x0209: return "session type not supported";
      case 0x020a: return "session does not exist";
      case 0x020b: return "invalid request during login";
      case 0x0300: return "target error";
      case 0x0301: return "service unavailable";
      case 0x0302: return "out of resources";
      default: return "unknown status";
    }
  }
}
