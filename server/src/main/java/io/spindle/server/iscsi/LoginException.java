package io.spindle.server.iscsi;

/**
 * A login that must fail with a Login Response status (RFC 7143 §11.13.5). The message is for
 * the log; the initiator sees only the status.
 */
final class LoginException extends Exception {
  private static final long serialVersionUID = 1L;

  static final int INITIATOR_ERROR = 0x0200;
  static final int AUTHENTICATION_FAILURE = 0x0201;
  static final int AUTHORIZATION_FAILURE = 0x0202;
  static final int TARGET_NOT_FOUND = 0x0203;
  static final int UNSUPPORTED_VERSION = 0x0205;
  static final int TOO_MANY_CONNECTIONS = 0x0206;
  static final int MISSING_PARAMETER = 0x0207;
  static final int SESSION_TYPE_NOT_SUPPORTED = 0x0209;
  static final int SESSION_DOES_NOT_EXIST = 0x020a;
  static final int INVALID_DURING_LOGIN = 0x020b;
  static final int TARGET_ERROR = 0x0300;
  static final int OUT_OF_RESOURCES = 0x0302;

  final int status;

  LoginException(int status, String message) {
    super(message);
    this.status = status;
  }

  static String describe(int status) {
    switch (status) {
      case INITIATOR_ERROR: return "initiator error";
      case AUTHENTICATION_FAILURE: return "authentication failure";
      case AUTHORIZATION_FAILURE: return "authorization failure";
      case TARGET_NOT_FOUND: return "target not found";
      case UNSUPPORTED_VERSION: return "unsupported version";
      case TOO_MANY_CONNECTIONS: return "too many connections";
      case MISSING_PARAMETER: return "missing parameter";
      case SESSION_TYPE_NOT_SUPPORTED: return "session type not supported";
      case SESSION_DOES_NOT_EXIST: return "session does not exist";
      case INVALID_DURING_LOGIN: return "invalid request during login";
      case TARGET_ERROR: return "target error";
      case OUT_OF_RESOURCES: return "out of resources";
      default: return "status 0x" + Integer.toHexString(status);
    }
  }
}
