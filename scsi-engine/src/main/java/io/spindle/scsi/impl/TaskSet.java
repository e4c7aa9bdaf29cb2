package io.spindle.scsi.impl;

import io.spindle.scsi.TaskAttribute;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * The task set of one logical unit (SAM-5 §8.6): SIMPLE tasks run concurrently, an ORDERED
 * task waits for every earlier task and holds back later ones, HEAD OF QUEUE runs at once.
 * The monitor guards only this list; no I/O happens under it. The list is threaded through the
 * tasks themselves, so adding and removing a task allocates nothing and costs no search.
 */
final class TaskSet {

  /** Oldest first (HEAD OF QUEUE tasks in front), linked through {@link Task#prev}/{@link Task#next}. */
  private Task head;
  private Task tail;
  /** ORDERED tasks in the set. Only they make tasks wait: while there are none, every task runs. */
  private int ordered;

  /** Adds a task; true when it may start now (it is then marked started). */
  synchronized boolean add(Task t) {
    TaskAttribute a = t.attribute();
    if (a == TaskAttribute.HEAD_OF_QUEUE) {
      linkFirst(t);
      t.started = true;
      return true;
    }
    linkLast(t);
    if (a == TaskAttribute.ORDERED) ordered++;
    if (ordered == 0 || mayStart(t)) {
      t.started = true;
      return true;
    }
    return false;
  }

  private void linkFirst(Task t) {
    t.prev = null;
    t.next = head;
    if (head == null) tail = t;
    else head.prev = t;
    head = t;
    t.inSet = true;
  }

  private void linkLast(Task t) {
    t.next = null;
    t.prev = tail;
    if (tail == null) head = t;
    else tail.next = t;
    tail = t;
    t.inSet = true;
  }

  /** Takes {@code t} out of the list; false when it was not in it. */
  private boolean unlink(Task t) {
    if (!t.inSet) return false;
    if (t.prev == null) head = t.next;
    else t.prev.next = t.next;
    if (t.next == null) tail = t.prev;
    else t.next.prev = t.prev;
    t.prev = null;
    t.next = null;
    t.inSet = false;
    return true;
  }

  private boolean mayStart(Task t) {
    for (Task earlier = head; earlier != t; earlier = earlier.next) {
      if (t.attribute() == TaskAttribute.ORDERED && earlier.attribute() != TaskAttribute.HEAD_OF_QUEUE) return false;
      if (earlier.attribute() == TaskAttribute.ORDERED) return false;
    }
    return true;
  }

  /** Removes a task; returns the waiting tasks that may start now (marked started). */
  synchronized List<Task> remove(Task t) {
    // Without an ORDERED task in the set no task waits, so none can become ready.
    boolean mayRelease = ordered > 0;
    if (unlink(t) && t.attribute() == TaskAttribute.ORDERED) ordered--;
    if (!mayRelease) return List.of();
    return ready();
  }

  /** Waiting tasks that may start now, marked started. */
  private List<Task> ready() {
    List<Task> ready = new ArrayList<>();
    for (Task w = head; w != null; w = w.next) {
      if (!w.started && mayStart(w)) {
        w.started = true;
        ready.add(w);
      }
    }
    return ready;
  }

  /** What an abort hit: running tasks (end later), waiting tasks (removed), and tasks now free to start. */
  record Aborted(List<Task> running, List<Task> waiting, List<Task> ready) {
    List<Task> all() {
      List<Task> l = new ArrayList<>(running);
      l.addAll(waiting);
      return l;
    }
  }

  /** Marks the matching tasks aborted; waiting ones leave the set at once. */
  synchronized Aborted abort(Predicate<Task> which) {
    List<Task> running = new ArrayList<>();
    List<Task> waiting = new ArrayList<>();
    for (Task t = head; t != null; t = t.next) {
      if (which.test(t)) {
        t.abort();
        if (t.started) running.add(t);
        else waiting.add(t);
      }
    }
    List<Task> ready = List.of();
    if (!waiting.isEmpty()) {
      for (Task w : waiting) {
        w.started = true;
        if (unlink(w) && w.attribute() == TaskAttribute.ORDERED) ordered--;
      }
      ready = ready();
    }
    return new Aborted(running, waiting, ready);
  }

  synchronized boolean isStarted(Task t) {
    return t.started;
  }

  synchronized Task find(String initiatorPort, long tag) {
    for (Task t = head; t != null; t = t.next) {
      if (t.tag() == tag && t.nexus().initiatorPort().equals(initiatorPort)) return t;
    }
    return null;
  }
}
