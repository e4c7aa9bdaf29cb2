package io.spindle.cluster.impl;

import io.spindle.cluster.SessionState;
import io.spindle.cluster.StateStore;
import io.spindle.cluster.StateUpdate;
import io.vertx.core.Future;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/** The single-node {@link StateStore}: a concurrent map of stored forms with deadlines, completed futures. */
public final class InMemoryStateStore implements StateStore {

  private record Entry(byte[] bytes, long deadlineNanos) {
  }

  private final Map<Integer, Entry> sessions = new ConcurrentHashMap<>();
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicLong writes = new AtomicLong();

  @Override
  public boolean clustered() {
    return false;
  }

  private Object apply(int tsih, StateUpdate u, long ttlMillis) {
    Object[] answer = new Object[1];
    long now = System.nanoTime();
    writes.incrementAndGet();
    if (u.value() != null) bytes.addAndGet(u.value().length);
    sessions.compute(tsih, (k, e) -> {
      byte[] current = e == null || e.deadlineNanos - now < 0 ? null : e.bytes;
      StateUpdate.Outcome o = u.apply(current);
      answer[0] = o.answer();
      if (o.keep()) return current == null ? null : e;
      return o.store() == null ? null : new Entry(o.store(), now + ttlMillis * 1_000_000L);
    });
    return answer[0];
  }

  @Override
  public Future<Boolean> create(SessionState s, long ttlMillis) {
    return Future.succeededFuture((Boolean) apply(s.tsih(), new StateUpdate(StateUpdate.Kind.CREATE, s.encode(), s.epoch(),
        s.owner()), ttlMillis));
  }

  @Override
  public Future<Boolean> update(SessionState s, long ttlMillis) {
    return Future.succeededFuture((Boolean) apply(s.tsih(), new StateUpdate(StateUpdate.Kind.UPDATE, s.encode(), s.epoch(),
        s.owner()), ttlMillis));
  }

  @Override
  public Future<SessionState> get(int tsih) {
    Entry e = sessions.get(tsih);
    boolean live = e != null && e.deadlineNanos - System.nanoTime() >= 0;
    return Future.succeededFuture(live ? SessionState.decode(e.bytes) : null);
  }

  @Override
  public Future<SessionState> takeOver(int tsih, long epoch, String node, long ttlMillis) {
    byte[] moved = (byte[]) apply(tsih, new StateUpdate(StateUpdate.Kind.TAKEOVER, null, epoch, node), ttlMillis);
    return Future.succeededFuture(moved == null ? null : SessionState.decode(moved));
  }

  @Override
  public Future<Boolean> remove(SessionState s) {
    return Future.succeededFuture((Boolean) apply(s.tsih(), new StateUpdate(StateUpdate.Kind.REMOVE, null, s.epoch(),
        s.owner()), 0));
  }

  @Override
  public long bytesWritten() {
    return bytes.get();
  }

  @Override
  public long writes() {
    return writes.get();
  }
}
