package io.spindle.server.admin;

/**
 * A failed admin request: becomes a {@link io.vertx.core.eventbus.ReplyException} with
 * {@link #code()} as its failure code (docs/ADMIN-API.md "Failures").
 */
public final class AdminException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int code;

  public AdminException(int code, String message) {
    super(message);
    this.code = code;
  }

  public int code() {
    return code;
  }
}
