package io.spindle.initiator;

/** The connection closed (by either side, or after a protocol error) while the request was pending. */
public final class ConnectionClosedException extends IscsiInitiatorException {
  private static final long serialVersionUID = 1L;

  public ConnectionClosedException(String message, Throwable cause) {
    super(message, cause);
  }
}
