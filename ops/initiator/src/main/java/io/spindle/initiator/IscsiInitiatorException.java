package io.spindle.initiator;

/** Base of the failures the initiator reports through its futures. */
public class IscsiInitiatorException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public IscsiInitiatorException(String message) {
    super(message);
  }

  public IscsiInitiatorException(String message, Throwable cause) {
    super(message, cause);
  }
}
