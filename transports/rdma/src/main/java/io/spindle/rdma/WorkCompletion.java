package io.spindle.rdma;

/**
 * The outcome of one work request, delivered on the connection's context.
 *
 * @param wrId the request's id
 * @param opcode what kind of request completed
 * @param status success or the error class
 * @param byteLength bytes received (receives) or transferred (reads); 0 on error
 * @param solicitedEvent receives only: the Send asked for a solicited event
 * @param invalidated receives only: the Send invalidated a local STag, {@code invalidatedStag}
 * @param invalidatedStag the invalidated STag, when {@code invalidated}
 * @param detail a human-readable reason for an error, or null
 */
public record WorkCompletion(long wrId, Opcode opcode, Status status, int byteLength, boolean solicitedEvent,
    boolean invalidated, int invalidatedStag, String detail) {

  public enum Opcode { SEND, RDMA_WRITE, RDMA_READ, RECEIVE }

  public enum Status {
    SUCCESS,
    /** A received Send was longer than the posted buffer. */
    LOCAL_LENGTH_ERROR,
    /** A local buffer lacks the access rights, is invalid, or the range is outside it. */
    LOCAL_PROTECTION_ERROR,
    /** The peer refused our access to its memory (Terminate with a remote protection error). */
    REMOTE_ACCESS_ERROR,
    /** The peer could not perform the operation (Terminate with a remote operation error). */
    REMOTE_OPERATION_ERROR,
    /** A received Send with Invalidate named an STag that cannot be invalidated. */
    REMOTE_INVALIDATE_ERROR,
    /** The connection ended before the request could complete. */
    FLUSHED,
    /** The provider failed; the connection is gone. */
    FATAL
  }

  public boolean ok() {
    return status == Status.SUCCESS;
  }

  public static WorkCompletion success(long wrId, Opcode opcode, int byteLength) {
    return new WorkCompletion(wrId, opcode, Status.SUCCESS, byteLength, false, false, 0, null);
  }

  public static WorkCompletion error(long wrId, Opcode opcode, Status status, String detail) {
    return new WorkCompletion(wrId, opcode, status, 0, false, false, 0, detail);
  }
}
