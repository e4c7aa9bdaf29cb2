package io.spindle.rdma;

/**
 * A change of a connection's state, delivered on its context. After {@link Type#DISCONNECTED},
 * {@link Type#TERMINATED} or {@link Type#ERROR} no further event follows; outstanding work requests
 * complete with {@link WorkCompletion.Status#FLUSHED} (or the error that ended the stream).
 *
 * @param type what happened
 * @param terminate the Terminate sent or received, for {@link Type#TERMINATED}, when the provider knows it
 * @param detail for the log
 */
public record ConnectionEvent(Type type, TerminateInfo terminate, String detail) {

  public enum Type {
    /** MPA (or CM) negotiation finished; work requests flow. */
    ESTABLISHED,
    /** Orderly close by either side. */
    DISCONNECTED,
    /** The RDMAP stream was terminated by a Terminate message, sent or received. */
    TERMINATED,
    /** The stream broke (TCP reset, framing error, local failure). */
    ERROR
  }
}
