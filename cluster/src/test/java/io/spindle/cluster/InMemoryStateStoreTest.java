package io.spindle.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class InMemoryStateStoreTest {

  @Test
  void sessionsAndTasksRoundTripAndRemoveTogether() {
    StateStore s = StateStore.inMemory();
    var rec = new StateStore.SessionRecord("k", "iqn.a", 1, 7, "iqn.t", 42, 2, 2, 20);
    s.putSession(rec);
    var t = new StateStore.TaskSnapshot(5, 41, 0, new byte[] {0x28}, 1, 4096, true, false, 0, 3, 1);
    s.putTasks("k", List.of(t));
    assertEquals(rec, s.getSession("k").result());
    assertEquals(1, s.getTasks("k").result().size());
    s.putTasks("k", List.of());
    assertTrue(s.getTasks("k").result().isEmpty());
    s.putTasks("k", List.of(t));
    s.removeSession("k");
    assertNull(s.getSession("k").result());
    assertTrue(s.getTasks("k").result().isEmpty());
  }
}
