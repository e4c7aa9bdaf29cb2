package io.spindle.cluster.hazelcast;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import io.spindle.cluster.ClusterOptions;
import io.spindle.cluster.SessionState;
import io.spindle.cluster.StateStore;
import io.spindle.cluster.StateStoreContract;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The store contract on two real Hazelcast members in this JVM (ports 20001-20003 on loopback):
 * node "a" writes through one member, node "b" through the other. Then: TSIHs from both members
 * never collide, and a session survives the member that wrote it.
 */
class HazelcastStateStoreIT extends StateStoreContract {

  private static final List<String> MEMBERS = List.of("127.0.0.1:20001", "127.0.0.1:20002", "127.0.0.1:20003");
  private static HazelcastInstance one;
  private static HazelcastInstance two;
  private static StateStore a;
  private static StateStore b;
  private static final AtomicInteger next = new AtomicInteger(1000);

  static HazelcastInstance member(String node, int port) {
    return Hazelcast.newHazelcastInstance(HazelcastClusterNode.config(
        new ClusterOptions("cc-test", node, "127.0.0.1", port, MEMBERS, "127.0.0.1", 0)));
  }

  @BeforeAll
  static void start() {
    one = member("a", 20001);
    two = member("b", 20002);
    a = new HazelcastStateStore(one);
    b = new HazelcastStateStore(two);
  }

  @AfterAll
  static void stop() {
    if (one != null) one.getLifecycleService().terminate();
    if (two != null) two.getLifecycleService().terminate();
  }

  @Override
  protected StateStore store() {
    return a;
  }

  @Override
  protected StateStore other() {
    return b;
  }

  @Override
  protected int freshTsih() {
    return next.getAndIncrement();
  }

  @Test
  void tsihsAllocatedOnTwoMembersNeverCollide() throws Exception {
    // Both members race for the same 64 TSIHs: each TSIH is won exactly once.
    Set<Integer> wonByA = new HashSet<>();
    Set<Integer> wonByB = new HashSet<>();
    int base = next.getAndAdd(64);
    Thread t = new Thread(() -> {
      for (int i = 0; i < 64; i++) if (await(b.create(session(base + i, "b"), TTL))) wonByB.add(base + i);
    });
    t.start();
    for (int i = 63; i >= 0; i--) if (await(a.create(session(base + i, "a"), TTL))) wonByA.add(base + i);
    t.join();
    Set<Integer> both = new HashSet<>(wonByA);
    both.retainAll(wonByB);
    assertTrue(both.isEmpty(), "TSIHs held by two sessions: " + both);
    assertEquals(64, wonByA.size() + wonByB.size());
  }

  @Test
  void aSessionOutlivesTheMemberThatWroteIt() {
    HazelcastInstance third = member("c", 20003);
    try {
      StateStore c = new HazelcastStateStore(third);
      int[] tsihs = new int[20];
      for (int i = 0; i < tsihs.length; i++) {
        tsihs[i] = freshTsih();
        assertTrue(await(c.create(session(tsihs[i], "c"), TTL)));
      }
      third.getLifecycleService().terminate(); // no graceful migration: as kill -9 leaves it
      for (int tsih : tsihs) {
        SessionState s = await(a.get(tsih));
        assertNotNull(s, "TSIH " + tsih + " was lost with its member");
        assertFalse(await(b.create(session(tsih, "b"), TTL)));
        assertNotNull(await(b.takeOver(tsih, s.epoch(), "b", TTL)));
      }
    } finally {
      third.getLifecycleService().terminate();
    }
  }
}
