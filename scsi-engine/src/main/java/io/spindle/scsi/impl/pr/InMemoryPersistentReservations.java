package io.spindle.scsi.impl.pr;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Single-node persistent reservations; the monitor guards only this small state. */
public final class InMemoryPersistentReservations implements PersistentReservations {

  private final Map<String, Long> registrations = new LinkedHashMap<>();
  private int generation;
  // null when not reserved; for all-registrants types any registrant holds it. Written under the
  // lock, volatile so that reserved() — asked for every READ and WRITE — takes no lock.
  private volatile String holder;
  private int type;
  private boolean aptpl;
  /** Bumped on every change; lets the persister skip stale snapshots. */
  private long version;

  private boolean allRegistrants() {
    return type == WRITE_EXCLUSIVE_ALL_REGISTRANTS || type == EXCLUSIVE_ACCESS_ALL_REGISTRANTS;
  }

  private boolean isHolder(String nexus) {
    if (holder == null) return false;
    return allRegistrants() ? registrations.containsKey(nexus) : holder.equals(nexus);
  }

  @Override
  public synchronized Status status() {
    long holderKey = 0;
    if (holder != null && !allRegistrants()) holderKey = registrations.getOrDefault(holder, 0L);
    return new Status(generation, new ArrayList<>(registrations.values()), holder != null, holderKey, type);
  }

  @Override
  public boolean reserved() {
    return holder != null;
  }

  @Override
  public synchronized boolean conflicts(String nexus, boolean write) {
    if (holder == null || isHolder(nexus)) return false;
    boolean registered = registrations.containsKey(nexus);
    switch (type) {
      case WRITE_EXCLUSIVE: return write;
      case EXCLUSIVE_ACCESS: return true;
      case WRITE_EXCLUSIVE_REGISTRANTS_ONLY:
      case WRITE_EXCLUSIVE_ALL_REGISTRANTS: return write && !registered;
      case EXCLUSIVE_ACCESS_REGISTRANTS_ONLY:
      case EXCLUSIVE_ACCESS_ALL_REGISTRANTS: return !registered;
      default: return false;
    }
  }

  @Override
  public synchronized Outcome register(String nexus, long key, long saKey, boolean ignoreExisting, boolean aptpl,
      Notifier n) {
    Outcome o = register0(nexus, key, saKey, ignoreExisting, n);
    if (o == Outcome.GOOD) {
      // SPC-4 §5.9.5: the APTPL bit of the last successful REGISTER applies to all state.
      this.aptpl = aptpl;
      version++;
    }
    return o;
  }

  private Outcome register0(String nexus, long key, long saKey, boolean ignoreExisting, Notifier n) {
    Long current = registrations.get(nexus);
    if (current == null) {
      // SPC-4 §5.9.7: an unregistered nexus must send key 0 (unless IGNORE EXISTING KEY).
      if (!ignoreExisting && key != 0) return Outcome.RESERVATION_CONFLICT;
      if (saKey == 0) return Outcome.GOOD;
      registrations.put(nexus, saKey);
    } else {
      if (!ignoreExisting && key != current) return Outcome.RESERVATION_CONFLICT;
      if (saKey == 0) {
        unregister(nexus, n);
      } else {
        registrations.put(nexus, saKey);
      }
    }
    generation++;
    return Outcome.GOOD;
  }

  /** SPC-4 §5.9.11.3: removing the holder's registration releases its reservation. */
  private void unregister(String nexus, Notifier n) {
    boolean wasHolder = isHolder(nexus);
    registrations.remove(nexus);
    if (!wasHolder) return;
    if (allRegistrants()) {
      if (registrations.isEmpty()) holder = null;
      return;
    }
    holder = null;
    if (type == WRITE_EXCLUSIVE_REGISTRANTS_ONLY || type == EXCLUSIVE_ACCESS_REGISTRANTS_ONLY) {
      for (String other : registrations.keySet()) n.notify(other, 0x2A, 0x04); // RESERVATIONS RELEASED
    }
  }

  private static boolean validType(int t) {
    return t == 1 || t == 3 || (t >= 5 && t <= 8);
  }

  @Override
  public synchronized Outcome reserve(String nexus, long key, int t) {
    Long current = registrations.get(nexus);
    if (current == null || current != key) return Outcome.RESERVATION_CONFLICT;
    if (!validType(t)) return Outcome.INVALID_FIELD_IN_CDB;
    if (holder == null) {
      holder = nexus;
      type = t;
      version++;
      return Outcome.GOOD;
    }
    return isHolder(nexus) && type == t ? Outcome.GOOD : Outcome.RESERVATION_CONFLICT;
  }

  @Override
  public synchronized Outcome release(String nexus, long key, int t, Notifier n) {
    Long current = registrations.get(nexus);
    if (current == null || current != key) return Outcome.RESERVATION_CONFLICT;
    if (holder == null || !isHolder(nexus)) return Outcome.GOOD;
    if (t != type) return Outcome.INVALID_RELEASE;
    int old = type;
    holder = null;
    version++;
    if (old != WRITE_EXCLUSIVE && old != EXCLUSIVE_ACCESS) {
      for (String other : registrations.keySet()) {
        if (!other.equals(nexus)) n.notify(other, 0x2A, 0x04);
      }
    }
    return Outcome.GOOD;
  }

  @Override
  public synchronized Outcome clear(String nexus, long key, Notifier n) {
    Long current = registrations.get(nexus);
    if (current == null || current != key) return Outcome.RESERVATION_CONFLICT;
    for (String other : registrations.keySet()) {
      if (!other.equals(nexus)) n.notify(other, 0x2A, 0x03); // RESERVATIONS PREEMPTED
    }
    registrations.clear();
    holder = null;
    generation++;
    version++;
    return Outcome.GOOD;
  }

  @Override
  public synchronized Outcome preempt(String nexus, long key, long saKey, int t, Notifier n) {
    Outcome o = preempt0(nexus, key, saKey, t, n);
    version++;
    return o;
  }

  private Outcome preempt0(String nexus, long key, long saKey, int t, Notifier n) {
    Long current = registrations.get(nexus);
    if (current == null || current != key) return Outcome.RESERVATION_CONFLICT;
    if (holder != null && allRegistrants()) {
      if (saKey == 0) {
        // SPC-4 §5.9.11.4.4: remove every other registrant and reserve anew.
        removeOthers(nexus, k -> true, n);
        if (!validType(t)) return Outcome.INVALID_FIELD_IN_CDB;
        holder = nexus;
        type = t;
      } else if (!removeOthers(nexus, k -> k == saKey, n)) {
        return Outcome.RESERVATION_CONFLICT;
      }
      generation++;
      return Outcome.GOOD;
    }
    if (holder != null && registrations.getOrDefault(holder, -1L) == saKey) {
      if (!validType(t)) return Outcome.INVALID_FIELD_IN_CDB;
      removeOthers(nexus, k -> k == saKey, n);
      holder = nexus;
      type = t;
      generation++;
      return Outcome.GOOD;
    }
    if (saKey == 0) return Outcome.INVALID_FIELD_IN_PARAMETER_LIST;
    if (!removeOthers(nexus, k -> k == saKey, n)) return Outcome.RESERVATION_CONFLICT;
    generation++;
    return Outcome.GOOD;
  }

  private boolean removeOthers(String nexus, java.util.function.LongPredicate which, Notifier n) {
    boolean any = false;
    for (Iterator<Map.Entry<String, Long>> it = registrations.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<String, Long> e = it.next();
      if (!e.getKey().equals(nexus) && which.test(e.getValue())) {
        it.remove();
        n.notify(e.getKey(), 0x2A, 0x05); // REGISTRATIONS PREEMPTED
        any = true;
      }
    }
    if (holder != null && !allRegistrants() && !registrations.containsKey(holder)) holder = null;
    return any;
  }

  @Override
  public synchronized Outcome registerAndMove(String nexus, long key, long saKey, String destination, int t,
      boolean unregister, boolean aptpl) {
    Long current = registrations.get(nexus);
    // SPC-4 §5.9.9: only the registered holder of a reservation that is not all-registrants may move it.
    if (current == null || current != key) return Outcome.RESERVATION_CONFLICT;
    if (holder == null || allRegistrants() || !holder.equals(nexus)) return Outcome.RESERVATION_CONFLICT;
    if (saKey == 0 || destination.equals(nexus)) return Outcome.INVALID_FIELD_IN_PARAMETER_LIST;
    if (!validType(t)) return Outcome.INVALID_FIELD_IN_CDB;
    registrations.put(destination, saKey);
    holder = destination;
    type = t;
    if (unregister) registrations.remove(nexus);
    this.aptpl = aptpl;
    generation++;
    version++;
    return Outcome.GOOD;
  }

  @Override
  public synchronized List<Registrant> registrants() {
    List<Registrant> out = new ArrayList<>();
    registrations.forEach((nexus, key) -> out.add(new Registrant(nexus, key, isHolder(nexus))));
    return out;
  }

  @Override
  public synchronized boolean aptpl() {
    return aptpl;
  }

  /** The persistable state and its version; null state when APTPL is off (nothing to keep). */
  public synchronized Snapshot snapshot() {
    if (!aptpl) return new Snapshot(version, null);
    JsonObject j = new JsonObject().put("generation", generation).put("type", type);
    if (holder != null) j.put("holder", holder);
    JsonArray regs = new JsonArray();
    registrations.forEach((nexus, key) -> regs.add(new JsonObject().put("nexus", nexus)
        .put("key", Long.toHexString(key))));
    j.put("registrations", regs);
    return new Snapshot(version, j);
  }

  /** Restores state written by {@link #snapshot()} (APTPL set, SPC-4 §5.9.5). */
  public synchronized void restore(JsonObject j) {
    registrations.clear();
    for (Object o : j.getJsonArray("registrations", new JsonArray())) {
      JsonObject r = (JsonObject) o;
      registrations.put(r.getString("nexus"), Long.parseUnsignedLong(r.getString("key"), 16));
    }
    generation = j.getInteger("generation", 0);
    holder = j.getString("holder");
    if (holder != null && !allRegistrantsType(j.getInteger("type", 0)) && !registrations.containsKey(holder)) {
      holder = null;
    }
    type = j.getInteger("type", 0);
    aptpl = true;
  }

  private static boolean allRegistrantsType(int t) {
    return t == WRITE_EXCLUSIVE_ALL_REGISTRANTS || t == EXCLUSIVE_ACCESS_ALL_REGISTRANTS;
  }

  /** A versioned snapshot; {@code state} null means "no persisted state". */
  public record Snapshot(long version, JsonObject state) {
  }

  /** For tests and diagnostics. */
  public synchronized List<String> registeredNexuses() {
    return new ArrayList<>(registrations.keySet());
  }
}
