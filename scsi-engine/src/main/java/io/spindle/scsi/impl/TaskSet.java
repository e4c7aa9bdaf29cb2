package io.spindle.scsi.impl;

import io.spindle.scsi.TaskAttribute;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * The task set of one logical unit (SAM-5 §8.6): SIMPLE tasks run concurrently, an ORDERED
 * task waits for every earlier task and holds back later ones, HEAD OF QUEUE runs at once.
 * The monitor guards only this list; no I/O happens under it.
 */
final class TaskSet {

  private final List<Task> tasks = new ArrayList<>();
  /** ORDERED tasks in the set. Only they make tasks wait: while there are none, every task runs. */
  private int ordered;

  /** Adds a task; true when it may start now (it is then marked started). */
  synchronized boolean add(Task t) {
    TaskAttribute a = t.attribute();
    if (a == TaskAttribute.HEAD_OF_QUEUE) {
      tasks.add(0, t);
      t.started = true;
      return true;
    }
    tasks.add(t);
    if (a == TaskAttribute.ORDERED) ordered++;
    if (ordered == 0 || mayStart(tasks.size() - 1)) {
      t.started = true;
      return true;
    }
    return false;
  }

  private boolean mayStart(int index) {
    Task t = tasks.get(index);
    for (int i = 0; i < index; i++) {
      Task earlier = tasks.get(i);
      if (t.attribute() == TaskAttribute.ORDERED && earlier.attribute() != TaskAttribute.HEAD_OF_QUEUE) return false;
      if (earlier.attribute() == TaskAttribute.ORDERED) return false;
    }
    return true;
  }

  /** Removes a task; returns the waiting tasks that may start now (marked started). */
  synchronized List<Task> remove(Task t) {
    // Without an ORDERED task in the set no task waits, so none can become ready.
    boolean mayRelease = ordered > 0;
    if (tasks.remove(t) && t.attribute() == TaskAttribute.ORDERED) ordered--;
    if (!mayRelease) return List.of();
    List<Task> ready = new ArrayList<>();
    for (int i = 0; i < tasks.size(); i++) {
      Task w = tasks.get(i);
      if (!w.started && mayStart(i)) {
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
    for (Task t : tasks) {
      if (which.test(t)) {
        t.abort();
        if (t.started) running.add(t);
        else waiting.add(t);
      }
    }
    List<Task> ready = new ArrayList<>();
    if (!waiting.isEmpty()) {
      for (Task w : waiting) {
        w.started = true;
        if (tasks.remove(w) && w.attribute() == TaskAttribute.ORDERED) ordered--;
      }
      for (int i = 0; i < tasks.size(); i++) {
        Task w = tasks.get(i);
        if (!w.started && mayStart(i)) {
          w.started = true;
          ready.add(w);
        }
      }
    }
    return new Aborted(running, waiting, ready);
  }

  synchronized boolean isStarted(Task t) {
    return t.started;
  }

  synchronized Task find(String initiatorPort, long tag) {
    for (Task t : tasks) {
      if (t.tag() == tag && t.nexus().initiatorPort().equals(initiatorPort)) return t;
    }
    return null;
  }
}
