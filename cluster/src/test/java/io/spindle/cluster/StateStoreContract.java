package io.spindle.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What every {@link StateStore} must do (the in-memory one and the Hazelcast one run these): a
 * TSIH is held by one session, writes are fenced by epoch and owner, a takeover moves the
 * session exactly once, and an entry nobody writes expires.
 */
public abstract class StateStoreContract {

  /** The store under test, as node "a" sees it. */
  protected abstract StateStore store();

  /** The same store as another node sees it (itself where there is only one node). */
  protected StateStore other() {
    return store();
  }

  /** A TSIH no other test of this run uses. */
  protected abstract int freshTsih();

  protected static final long TTL = 60_000;

  protected static <T> T await(Future<T> f) {
    try {
      return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  protected static SessionState session(int tsih, String owner) {
    SessionState.TaskRecord t = new SessionState.TaskRecord(0x10, 7, 0, new byte[] {0x2a, 0, 0, 0, 0, 8, 0, 0, 8, 0}, 1,
        4096, false, true, 0, SessionState.TaskRecord.RECEIVED, 0, null, 0);
    return new SessionState(tsih, 1, owner, "iqn.2026-11.test:init", 0x23d000000001L, "iqn.2026-11.test:t", 1,
        Map.of("ErrorRecoveryLevel", "2", "DefaultTime2Retain", "20"), 7, 38, List.of(t));
  }

  @Test
  void aTsihIsHeldByOneSession() {
    int tsih = freshTsih();
    assertTrue(await(store().create(session(tsih, "a"), TTL)));
    assertFalse(await(other().create(session(tsih, "b"), TTL)), "a second session got a TSIH in use");
    SessionState seen = await(other().get(tsih));
    assertNotNull(seen);
    assertEquals("a", seen.owner());
    assertEquals(session(tsih, "a"), seen);
  }

  @Test
  void writesAreFencedByEpochAndOwner() {
    int tsih = freshTsih();
    SessionState s = session(tsih, "a");
    await(store().create(s, TTL));
    SessionState later = s.withWindow(9, 40, List.of());
    assertTrue(await(store().update(later, TTL)));
    assertEquals(9, await(other().get(tsih)).expCmdSn());
    SessionState moved = await(other().takeOver(tsih, s.epoch(), "b", TTL));
    assertNotNull(moved);
    assertEquals(s.epoch() + 1, moved.epoch());
    assertEquals("b", moved.owner());
    assertEquals(9, moved.expCmdSn(), "a takeover keeps the window the old owner wrote");
    assertFalse(await(store().update(later.withWindow(11, 42, List.of()), TTL)), "the old owner wrote after a takeover");
    assertFalse(await(store().remove(later)), "the old owner removed a session it lost");
    assertEquals(9, await(store().get(tsih)).expCmdSn());
    assertTrue(await(other().update(moved.withWindow(12, 43, List.of()), TTL)));
  }

  @Test
  void aSessionMovesOnceWhenTwoTakeItOver() {
    int tsih = freshTsih();
    SessionState s = session(tsih, "a");
    await(store().create(s, TTL));
    Future<SessionState> one = store().takeOver(tsih, s.epoch(), "b", TTL);
    Future<SessionState> two = other().takeOver(tsih, s.epoch(), "c", TTL);
    SessionState r1 = await(one);
    SessionState r2 = await(two);
    assertTrue((r1 == null) != (r2 == null), "takeovers that both won or both lost: " + r1 + " / " + r2);
    String winner = r1 != null ? "b" : "c";
    assertEquals(winner, await(store().get(tsih)).owner());
    assertNull(await(store().takeOver(tsih, s.epoch(), "d", TTL)), "a takeover from a stale epoch");
  }

  @Test
  void aRemovedSessionFreesItsTsih() {
    int tsih = freshTsih();
    SessionState s = session(tsih, "a");
    await(store().create(s, TTL));
    assertTrue(await(store().remove(s)));
    assertNull(await(other().get(tsih)));
    assertTrue(await(other().create(session(tsih, "b"), TTL)));
  }

  @Test
  void anEntryNobodyWritesExpires() throws Exception {
    int tsih = freshTsih();
    assertTrue(await(store().create(session(tsih, "a"), 300)));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (await(other().get(tsih)) != null) {
      assertTrue(System.nanoTime() - deadline < 0, "the entry did not expire within 30 s of a 300 ms TTL");
      Thread.sleep(50);
    }
    assertTrue(await(other().create(session(tsih, "b"), TTL)), "an expired session's TSIH is still held");
  }

  @Test
  void theStoreCountsWhatItIsSent() {
    long before = store().bytesWritten();
    long writes = store().writes();
    SessionState s = session(freshTsih(), "a");
    await(store().create(s, TTL));
    assertEquals(before + s.encode().length, store().bytesWritten());
    assertEquals(writes + 1, store().writes());
  }

  @Test
  void tasksSurviveTheRoundTrip() {
    int tsih = freshTsih();
    List<SessionState.TaskRecord> tasks = new ArrayList<>();
    for (int i = 0; i < 32; i++) {
      tasks.add(new SessionState.TaskRecord(i, 100 + i, 1L << 48, new byte[] {(byte) 0x88, 1, 2, 3}, 0, 1 << 20, true,
          false, 0, SessionState.TaskRecord.COMPLETED, 2, new byte[] {0x70, 0, 5, 0, 0, 0, 0, 10}, -4));
    }
    SessionState s = session(tsih, "a").withWindow(132, 163, tasks);
    await(store().create(s, TTL));
    SessionState back = await(other().get(tsih));
    assertEquals(s, back);
    assertArrayEquals(new byte[] {0x70, 0, 5, 0, 0, 0, 0, 10}, back.tasks().get(31).sense());
  }
}
