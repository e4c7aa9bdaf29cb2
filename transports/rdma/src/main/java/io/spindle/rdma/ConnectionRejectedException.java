package io.spindle.rdma;

import io.vertx.core.buffer.Buffer;

/** The passive side rejected the connection (MPA Reply with the R bit, RFC 5044 §7.1.2; CM REJECT). */
public final class ConnectionRejectedException extends RuntimeException {

  private final Buffer privateData;

  public ConnectionRejectedException(Buffer privateData) {
    super("connection rejected by the peer (" + privateData.length() + " bytes of private data)");
    this.privateData = privateData;
  }

  /** The ULP private data that came with the rejection (possibly empty). */
  public Buffer privateData() {
    return privateData;
  }
}
