package io.spindle.cluster.hazelcast;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.EntryProcessor;
import com.hazelcast.map.ExtendedMapEntry;
import com.hazelcast.map.IMap;
import io.spindle.cluster.SessionState;
import io.spindle.cluster.StateStore;
import io.spindle.cluster.StateUpdate;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The clustered {@link StateStore}: one IMap entry per session, keyed by TSIH, holding the
 * {@link SessionState} stored form. Every write is an entry processor running {@link StateUpdate}
 * on the partition owner (and again on its backup), so the fence check and the write are one
 * atomic step wherever the caller is. Completions come back on the caller's Vert.x context.
 *
 * <p>Why an IMap and not a CP AtomicLong for TSIHs: the CP subsystem needs three CP members and
 * a majority of them; a two-node cluster (or three with one down) would stop allocating. The IMap
 * entry is the reservation: {@code CREATE} fails on a TSIH in use, the entry lives exactly as long
 * as its session (removed at session end, expired when Time2Wait + Time2Retain passed after the
 * last write of a dead owner), and it is on two members (one synchronous backup).
 */
final class HazelcastStateStore implements StateStore {

  static final String MAP = "spindle.sessions";

  private final IMap<Integer, byte[]> map;
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicLong writes = new AtomicLong();

  HazelcastStateStore(HazelcastInstance hz) {
    this.map = hz.getMap(MAP);
  }

  /** Runs {@link StateUpdate} where the entry lives. */
  static final class Processor implements EntryProcessor<Integer, byte[], Object> {
    private static final long serialVersionUID = 1L;
    private final StateUpdate update;
    private final long ttlMillis;

    Processor(StateUpdate update, long ttlMillis) {
      this.update = update;
      this.ttlMillis = ttlMillis;
    }

    @Override
    public Object process(Map.Entry<Integer, byte[]> entry) {
      StateUpdate.Outcome o = update.apply(entry.getValue());
      if (!o.keep()) {
        if (o.store() == null) {
          entry.setValue(null);
        } else {
          ((ExtendedMapEntry<Integer, byte[]>) entry).setValue(o.store(), ttlMillis, TimeUnit.MILLISECONDS);
        }
      }
      return o.answer();
    }
  }

  private <T> Future<T> submit(int tsih, StateUpdate u, long ttlMillis) {
    writes.incrementAndGet();
    if (u.value() != null) bytes.addAndGet(u.value().length);
    @SuppressWarnings("unchecked")
    CompletionStage<T> cs = (CompletionStage<T>) (CompletionStage<?>) map.submitToKey(tsih, new Processor(u, ttlMillis));
    return on(cs);
  }

  private static <T> Future<T> on(CompletionStage<T> cs) {
    Context ctx = Vertx.currentContext();
    return ctx == null ? Future.fromCompletionStage(cs) : Future.fromCompletionStage(cs, ctx);
  }

  @Override
  public boolean clustered() {
    return true;
  }

  @Override
  public Future<Boolean> create(SessionState s, long ttlMillis) {
    return submit(s.tsih(), new StateUpdate(StateUpdate.Kind.CREATE, s.encode(), s.epoch(), s.owner()), ttlMillis);
  }

  @Override
  public Future<Boolean> update(SessionState s, long ttlMillis) {
    return submit(s.tsih(), new StateUpdate(StateUpdate.Kind.UPDATE, s.encode(), s.epoch(), s.owner()), ttlMillis);
  }

  @Override
  public Future<SessionState> get(int tsih) {
    return on(map.getAsync(tsih)).map(b -> b == null ? null : SessionState.decode(b));
  }

  @Override
  public Future<SessionState> takeOver(int tsih, long epoch, String node, long ttlMillis) {
    Future<byte[]> moved = submit(tsih, new StateUpdate(StateUpdate.Kind.TAKEOVER, null, epoch, node), ttlMillis);
    return moved.map(b -> b == null ? null : SessionState.decode(b));
  }

  @Override
  public Future<Boolean> remove(SessionState s) {
    return submit(s.tsih(), new StateUpdate(StateUpdate.Kind.REMOVE, null, s.epoch(), s.owner()), 0);
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
