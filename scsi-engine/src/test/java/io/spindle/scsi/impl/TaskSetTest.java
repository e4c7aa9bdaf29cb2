package io.spindle.scsi.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.scsi.Nexus;
import io.spindle.scsi.TaskAttribute;
import java.util.List;
import org.junit.jupiter.api.Test;

/** SAM-5 §8.6 task set rules on the task set alone. */
class TaskSetTest {

  static final Nexus N = new Nexus("iqn.i", "iqn.i,i,0x1", "iqn.t,t,0x1", 1);

  private static Task task(TaskAttribute attribute, long tag) {
    TestCommand c = new TestCommand(null, N, 0, new byte[6], null, 0, false);
    c.attribute = attribute;
    c.tag = tag;
    return new Task(c, null, null, r -> { });
  }

  @Test
  void orderedWaitsForEarlierTasksAndHoldsBackLaterOnes() {
    TaskSet set = new TaskSet();
    Task s1 = task(TaskAttribute.SIMPLE, 1);
    Task o = task(TaskAttribute.ORDERED, 2);
    Task s2 = task(TaskAttribute.SIMPLE, 3);
    Task h = task(TaskAttribute.HEAD_OF_QUEUE, 4);
    assertTrue(set.add(s1));
    assertFalse(set.add(o));
    assertFalse(set.add(s2));
    assertTrue(set.add(h), "HEAD OF QUEUE runs at once");
    assertEquals(List.of(), set.remove(h));
    assertEquals(List.of(o), set.remove(s1));
    assertEquals(List.of(s2), set.remove(o));
    assertEquals(List.of(), set.remove(s2));
    assertEquals(List.of(), set.remove(s2), "a task not in the set is ignored");
    Task again = task(TaskAttribute.ORDERED, 5);
    assertTrue(set.add(again), "an ORDERED task in an empty set starts at once");
  }

  @Test
  void abortTakesWaitingTasksOutAndReleasesTheRest() {
    TaskSet set = new TaskSet();
    Task s1 = task(TaskAttribute.SIMPLE, 1);
    Task o = task(TaskAttribute.ORDERED, 2);
    Task s2 = task(TaskAttribute.SIMPLE, 3);
    set.add(s1);
    set.add(o);
    set.add(s2);
    assertSame(o, set.find("iqn.i,i,0x1", 2));
    TaskSet.Aborted a = set.abort(t -> t == o);
    assertEquals(List.of(), a.running());
    assertEquals(List.of(o), a.waiting());
    assertEquals(List.of(s2), a.ready());
    assertTrue(o.aborted());
    assertNull(set.find("iqn.i,i,0x1", 2));
    assertEquals(List.of(), set.remove(s1));
    assertEquals(List.of(), set.remove(s2));
  }
}
