package io.spindle.scsi.impl.xcopy;

import io.spindle.scsi.impl.LogicalUnitImpl;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Copy operations of one logical unit's copy manager, by I_T nexus and list identifier
 * (SPC-4 §5.17.4.3: a list identifier is unique per I_T nexus). Running copies are counted
 * against {@link CopyManagerLimits#MAX_CONCURRENT_COPIES}; finished copies submitted with
 * LIST ID USAGE 00b keep their status until RECEIVE COPY RESULTS COPY STATUS reports it,
 * at most {@link CopyManagerLimits#HELD_STATUSES_PER_NEXUS} per nexus (oldest dropped first).
 */
public final class CopyStatusTable {

  private static final Map<LogicalUnitImpl, CopyStatusTable> TABLES = new WeakHashMap<>();

  /** The table of a logical unit, created on first use. */
  public static CopyStatusTable of(LogicalUnitImpl lu) {
    synchronized (TABLES) {
      return TABLES.computeIfAbsent(lu, k -> new CopyStatusTable());
    }
  }

  /** I_T nexus loss on {@code lu}: drops the nexus's held statuses, if the LU ever ran a copy. */
  public static void nexusLost(LogicalUnitImpl lu, String nexus) {
    CopyStatusTable t;
    synchronized (TABLES) {
      t = TABLES.get(lu);
    }
    if (t != null) t.forget(nexus);
  }

  /** COPY MANAGER STATUS values (SPC-4 §6.18.3). */
  public static final int IN_PROGRESS = 0x00;
  public static final int COMPLETED = 0x01;
  public static final int FAILED = 0x02;

  /** One copy operation; updated by the copy as it proceeds. */
  public static final class Entry {
    final int listId;
    final boolean hold;
    volatile int status = IN_PROGRESS;
    volatile int segmentsProcessed;
    volatile long bytesCopied;

    Entry(int listId, boolean hold) {
      this.listId = listId;
      this.hold = hold;
    }

    public int status() {
      return status;
    }

    public int segmentsProcessed() {
      return segmentsProcessed;
    }

    public long bytesCopied() {
      return bytesCopied;
    }
  }

  /** Guarded by {@code this}. */
  private final Map<String, LinkedHashMap<Integer, Entry>> byNexus = new HashMap<>();
  private int running;

  /** The outcome of {@link #begin}. */
  public enum Admission { STARTED, LIST_ID_IN_USE, BUSY }

  /**
   * Registers a copy. {@code listId} is -1 for LIST ID USAGE 11b (no identifier, never held).
   * A list identifier still running on the nexus is refused (SPC-4 §6.4.3.2); a held status
   * under the same identifier is replaced.
   */
  public synchronized Admission begin(String nexus, int listId, boolean hold, Entry[] out) {
    if (running >= CopyManagerLimits.MAX_CONCURRENT_COPIES) return Admission.BUSY;
    Entry e = new Entry(listId, hold);
    if (listId >= 0) {
      LinkedHashMap<Integer, Entry> m = byNexus.computeIfAbsent(nexus, k -> new LinkedHashMap<>());
      Entry old = m.get(listId);
      if (old != null && old.status == IN_PROGRESS) return Admission.LIST_ID_IN_USE;
      m.remove(listId);
      m.put(listId, e);
      trim(m);
    }
    running++;
    out[0] = e;
    return Admission.STARTED;
  }

  /** Ends a copy; its status stays only when it was submitted to be held. */
  public synchronized void end(String nexus, Entry e, boolean ok) {
    e.status = ok ? COMPLETED : FAILED;
    running--;
    if (e.listId < 0 || e.hold) return;
    LinkedHashMap<Integer, Entry> m = byNexus.get(nexus);
    if (m != null && m.get(e.listId) == e) {
      m.remove(e.listId);
      if (m.isEmpty()) byNexus.remove(nexus);
    }
  }

  /**
   * The status for COPY STATUS, or null when the nexus has no copy with that identifier. A
   * finished copy's status is reported once and then discarded (SPC-4 §6.18.3).
   */
  public synchronized Entry report(String nexus, int listId) {
    LinkedHashMap<Integer, Entry> m = byNexus.get(nexus);
    Entry e = m == null ? null : m.get(listId);
    if (e != null && e.status != IN_PROGRESS) {
      m.remove(listId);
      if (m.isEmpty()) byNexus.remove(nexus);
    }
    return e;
  }

  /** Drops every held status of a nexus (I_T nexus loss, SPC-4 §5.17.4.3). */
  private synchronized void forget(String nexus) {
    LinkedHashMap<Integer, Entry> m = byNexus.get(nexus);
    if (m == null) return;
    m.values().removeIf(e -> e.status != IN_PROGRESS);
    if (m.isEmpty()) byNexus.remove(nexus);
  }

  private static void trim(LinkedHashMap<Integer, Entry> m) {
    Iterator<Entry> it = m.values().iterator();
    while (m.size() > CopyManagerLimits.HELD_STATUSES_PER_NEXUS && it.hasNext()) {
      if (it.next().status != IN_PROGRESS) it.remove();
    }
  }
}
