package io.spindle.rdma;

import io.vertx.core.Future;

/** A listening endpoint of a device. */
public interface RdmaListener {

  /** The bound port (useful when listening on port 0). */
  int actualPort();

  /** Stops accepting; established connections stay. */
  Future<Void> close();
}
