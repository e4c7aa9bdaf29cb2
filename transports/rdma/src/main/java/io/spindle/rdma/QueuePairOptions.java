package io.spindle.rdma;

/**
 * Sizing of a queue pair. IRD and ORD (RFC 5040 §6.5, negotiated by RFC 6581) bound the RDMA Reads
 * in flight: ORD is how many this side may have outstanding towards the peer, IRD how many it
 * accepts from the peer at once.
 */
public final class QueuePairOptions {

  public static final int DEFAULT_SEND_QUEUE_DEPTH = 256;
  public static final int DEFAULT_RECEIVE_QUEUE_DEPTH = 256;
  /** Matches what siw offers to ib_iser; RFC 6581 allows up to 16383. */
  public static final int DEFAULT_IRD = 16;
  public static final int DEFAULT_ORD = 16;

  private int sendQueueDepth = DEFAULT_SEND_QUEUE_DEPTH;
  private int receiveQueueDepth = DEFAULT_RECEIVE_QUEUE_DEPTH;
  private int ird = DEFAULT_IRD;
  private int ord = DEFAULT_ORD;

  public QueuePairOptions() {
  }

  public QueuePairOptions(QueuePairOptions other) {
    this.sendQueueDepth = other.sendQueueDepth;
    this.receiveQueueDepth = other.receiveQueueDepth;
    this.ird = other.ird;
    this.ord = other.ord;
  }

  public int sendQueueDepth() {
    return sendQueueDepth;
  }

  /** Work requests posted and not yet completed, Sends, Writes and Reads together. */
  public QueuePairOptions sendQueueDepth(int v) {
    this.sendQueueDepth = positive("sendQueueDepth", v);
    return this;
  }

  public int receiveQueueDepth() {
    return receiveQueueDepth;
  }

  public QueuePairOptions receiveQueueDepth(int v) {
    this.receiveQueueDepth = positive("receiveQueueDepth", v);
    return this;
  }

  public int ird() {
    return ird;
  }

  public QueuePairOptions ird(int v) {
    this.ird = bounded("ird", v);
    return this;
  }

  public int ord() {
    return ord;
  }

  public QueuePairOptions ord(int v) {
    this.ord = bounded("ord", v);
    return this;
  }

  private static int positive(String name, int v) {
    if (v < 1) throw new IllegalArgumentException(name + ": " + v + " must be at least 1");
    return v;
  }

  private static int bounded(String name, int v) {
    // RFC 6581 §4: IRD and ORD travel as 14-bit fields.
    if (v < 1 || v > 0x3fff) throw new IllegalArgumentException(name + ": " + v + " is outside 1..16383");
    return v;
  }

  @Override
  public String toString() {
    return "QueuePairOptions{sq=" + sendQueueDepth + ", rq=" + receiveQueueDepth + ", ird=" + ird + ", ord=" + ord + "}";
  }
}
