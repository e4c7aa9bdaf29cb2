package io.spindle.cluster;

import io.vertx.core.Future;

/**
 * Where the state of ErrorRecoveryLevel 2 sessions lives so that it outlives a connection and, in
 * a cluster, a node (RFC 7143 §6.2, §7.1.5). Sessions are stored under their TSIH: creating one
 * reserves the TSIH cluster-wide (§11.12.7: unique while the session lives). Every write is fenced
 * by the session's epoch and owner ({@link StateUpdate}); every entry expires {@code ttlMillis}
 * after its last write, so a session whose node died and that nobody took over is gone everywhere
 * once its DefaultTime2Wait + DefaultTime2Retain passed.
 *
 * <p>Implementations: {@link #inMemory()} for a single node, the Hazelcast one
 * ({@code io.spindle.cluster.hazelcast}) in a cluster. Both pass one contract test.
 */
public interface StateStore {

  /** The single-node store: this JVM's memory. */
  static StateStore inMemory() {
    return new io.spindle.cluster.impl.InMemoryStateStore();
  }

  /** True when another node can read what this store holds (so replication is worth its cost). */
  boolean clustered();

  /** Stores a new session if its TSIH is free; false if another session holds it. */
  Future<Boolean> create(SessionState s, long ttlMillis);

  /** Replaces the session if {@code s}'s epoch and owner still hold it; false if it moved or is gone. */
  Future<Boolean> update(SessionState s, long ttlMillis);

  /** The stored session, or null. */
  Future<SessionState> get(int tsih);

  /**
   * Moves the session to {@code node}, if it is still in {@code epoch}: the epoch grows by one and
   * the old owner's writes fail from now on. Null if the session is gone or moved meanwhile.
   */
  Future<SessionState> takeOver(int tsih, long epoch, String node, long ttlMillis);

  /** Removes the session if {@code s}'s epoch and owner still hold it (its TSIH becomes free). */
  Future<Boolean> remove(SessionState s);

  /** Bytes and writes sent to the store so far (the replication's own cost). */
  long bytesWritten();

  long writes();
}
