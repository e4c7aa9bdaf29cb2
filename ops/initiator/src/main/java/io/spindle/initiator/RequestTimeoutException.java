package io.spindle.initiator;

/** A login, command or other exchange did not complete within its configured time. */
public final class RequestTimeoutException extends IscsiInitiatorException {
  private static final long serialVersionUID = 1L;

  public RequestTimeoutException(String message) {
    super(message);
  }
}
