package io.spindle.scsi.impl;

import io.spindle.scsi.LogicalUnit;
import io.spindle.scsi.LunOptions;
import io.spindle.scsi.Nexus;
import io.spindle.scsi.impl.pr.InMemoryPersistentReservations;
import io.spindle.scsi.impl.pr.PersistentReservations;
import io.spindle.scsi.spi.store.BackingStore;
import io.spindle.scsi.spi.store.ReservationStore;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An SBC direct-access logical unit: its backing store and the state SPC-4 keeps per logical
 * unit — unit attentions per I_T nexus, the SPC-2 reservation, mode page values, the task
 * set. Shared by sessions on several event loops: small monitors guard the state, never I/O.
 */
public final class LogicalUnitImpl implements LogicalUnit {

  private static final Logger log = LoggerFactory.getLogger(LogicalUnitImpl.class);

  private final ScsiEngineImpl engine;
  private final LunOptions options;
  private final BackingStore store;
  private final String serial;
  private final byte[] naa;
  private volatile long blocks;
  private final TaskSet taskSet = new TaskSet();
  private final RangeLock rangeLock = new RangeLock();
  private final ModePages modePages = new ModePages();
  private final InMemoryPersistentReservations persistentReservations = new InMemoryPersistentReservations();
  /** Where APTPL state is kept (beside a file, in Ceph, nowhere). */
  private final ReservationStore reservationStore;
  /** Saves run one after another; guarded by {@code savingLock} (the swap only, no I/O under it). */
  private final Object savingLock = new Object();
  private Future<Void> saving = Future.succeededFuture();
  /** Version of the last saved snapshot; touched only by the save chain, one save at a time. */
  private long prSavedVersion = -1;
  /** Target port names by relative target port identifier, as seen on commands (TransportIDs). */
  private final Map<Integer, String> targetPorts = new ConcurrentHashMap<>();

  /** Guarded by {@code this}: nexuses seen, their pending unit attentions, reservation, prevent. */
  private final Set<String> knownNexuses = new HashSet<>();
  private final Map<String, Deque<UnitAttention>> unitAttentions = new HashMap<>();
  private volatile String reservationHolder;
  /**
   * A nexus found known with no unit attention queued, so its commands skip the monitor; set to
   * null under the monitor whenever a unit attention is queued or a nexus goes away.
   */
  private volatile Nexus quiet;
  private final Set<String> preventing = new HashSet<>();
  /** A SANITIZE is running (SBC-4 4.11.2). */
  private volatile boolean sanitizing;
  /** Removable medium loaded (SBC-4 4.17); always true for fixed media. */
  private volatile boolean mediumPresent = true;

  /**
   * @param identity the provider's stable name of the data (a path, pool/image), or null
   * @param savedReservations what {@code reservations} held at open, or null
   */
  LogicalUnitImpl(ScsiEngineImpl engine, LunOptions options, String identity, BackingStore store,
      ReservationStore reservations, JsonObject savedReservations) {
    this.engine = engine;
    this.options = options;
    this.store = store;
    this.reservationStore = reservations;
    this.blocks = store.size() / options.blockSize();
    String unique = options.backing() + "::" + options.size() + ":" + System.identityHashCode(this);
    byte[] hash = sha256(options.serial() != null ? "serial:" + options.serial()
        : identity != null ? "path:" + identity : unique);
    this.serial = options.serial() != null ? options.serial() : hex(hash, 8);
    // SPC-4 §7.8.6.6.4: NAA 6 (IEEE Registered Extended); the OUI and the vendor specific
    // identifier are taken from the hash, so the identifier is stable for a path or serial.
    this.naa = new byte[16];
    System.arraycopy(hash, 8, naa, 0, 16);
    naa[0] = (byte) (0x60 | (naa[0] & 0x0F));
    if (savedReservations != null) {
      try {
        persistentReservations.restore(savedReservations);
      } catch (RuntimeException e) {
        unreadableReservations(e);
      }
    }
    // SBC-4 4.12: a capacity changed outside (an RBD image resized in Ceph) is reported to every nexus.
    store.onResize(bytes -> {
      long n = bytes / options.blockSize();
      if (n != blocks) capacityChanged(n);
    });
  }

  /** SPC-4 §5.9.5: saved APTPL state that cannot be read is ignored (the unit starts without it). */
  void unreadableReservations(Throwable cause) {
    log.warn("{}: ignoring unreadable persistent reservation state: {}", serial, cause.toString());
  }

  /**
   * Saves the reservation state after a PERSISTENT RESERVE OUT (SPC-4 §5.9.5 APTPL). Saves run one
   * at a time, each writing the newest snapshot, so a slow save never overwrites newer state. The
   * future may complete on any context.
   */
  public Future<Void> persistReservations(Context ctx) {
    Promise<Void> mine = Promise.promise();
    Future<Void> before;
    synchronized (savingLock) {
      before = saving;
      saving = mine.future();
    }
    before.onComplete(x -> {
      InMemoryPersistentReservations.Snapshot snap = persistentReservations.snapshot();
      if (snap.version() <= prSavedVersion) {
        mine.complete();
        return;
      }
      reservationStore.save(ctx, snap.state()).onComplete(ar -> {
        if (ar.succeeded()) prSavedVersion = snap.version();
        mine.handle(ar);
      });
    });
    return mine.future();
  }

  /**
   * Replaces the reservation state with what the store holds (a store shared by several gateways),
   * after this unit's own saves in flight. Saved state absent: the local state stays.
   */
  public Future<Void> refreshReservations(Context ctx) {
    Future<Void> pending;
    synchronized (savingLock) {
      pending = saving;
    }
    return pending.transform(x -> reservationStore.load(ctx)).map(saved -> {
      if (saved != null) persistentReservations.restore(saved);
      return null;
    });
  }

  /** Records the target port a command came through, by relative target port identifier. */
  public void rememberPort(Nexus nexus) {
    targetPorts.putIfAbsent(nexus.relativeTargetPort(), nexus.targetPort());
  }

  /** The target port name for a relative target port identifier, or null. */
  public String targetPort(int relativeTargetPort) {
    return targetPorts.get(relativeTargetPort);
  }

  /** Relative target port identifier of a target port name, or 0 when never seen. */
  public int relativeTargetPort(String targetPort) {
    for (Map.Entry<Integer, String> e : targetPorts.entrySet()) {
      if (e.getValue().equals(targetPort)) return e.getKey();
    }
    return 0;
  }

  /** Initiator ports of the nexuses seen so far (REGISTER AND MOVE by initiator name). */
  public synchronized List<String> knownInitiatorPorts() {
    return new ArrayList<>(knownNexuses);
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String hex(byte[] b, int n) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < n; i++) sb.append(String.format("%02x", b[i]));
    return sb.toString();
  }

  @Override
  public LunOptions options() {
    return options;
  }

  @Override
  public long blocks() {
    return blocks;
  }

  @Override
  public int blockSize() {
    return options.blockSize();
  }

  public ReservationStore reservationStore() {
    return reservationStore;
  }

  public BackingStore store() {
    return store;
  }

  /** Thin provisioned (LBPME=1, SBC-4 4.7.3): configured so and the store can deallocate. */
  public boolean thinProvisioned() {
    return options.thin() && store.thin();
  }

  /**
   * LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT (SBC-4 5.16.2): one logical block per physical
   * block. Every logical block can be written and deallocated on its own (holes are punched
   * per block, partial pages zeroed), so there is no larger unit an initiator must respect;
   * reporting 8 made initiators (libiscsi GetLBAStatus.UnmapSingle) expect page-sized mapping.
   */
  public int lbppbExponent() {
    return 0;
  }

  public boolean removable() {
    return options.removable();
  }

  /** Marks a sanitize started; false when one already runs. */
  public synchronized boolean beginSanitize() {
    if (sanitizing) return false;
    sanitizing = true;
    return true;
  }

  public void endSanitize() {
    sanitizing = false;
  }

  public boolean sanitizing() {
    return sanitizing;
  }

  public boolean mediumPresent() {
    return mediumPresent;
  }

  /**
   * START STOP UNIT LOEJ (SBC-4 5.25): eject or load a removable medium. While any nexus
   * prevents removal the medium neither leaves nor changes (SBC-4 5.11).
   */
  public synchronized boolean loadEject(boolean load) {
    if (!preventing.isEmpty()) return false;
    mediumPresent = load;
    return true;
  }

  public ScsiEngineImpl engine() {
    return engine;
  }

  public String serial() {
    return serial;
  }

  /** The 16-byte NAA designator (VPD page 83h). */
  public byte[] naa() {
    return naa.clone();
  }

  public ModePages modePages() {
    return modePages;
  }

  public InMemoryPersistentReservations persistentReservations() {
    return persistentReservations;
  }

  /** The I_T nexus identity persistent reservations are kept under (SPC-4 §5.9.1). */
  public static String prNexus(Nexus nexus) {
    return nexus.initiatorPort() + "|" + nexus.targetPort();
  }

  /** Notifier for persistent reservation service actions: a UA to one nexus. */
  public PersistentReservations.Notifier prNotifier() {
    return (nexus, asc, ascq) -> {
      int bar = nexus.indexOf('|');
      String port = bar < 0 ? nexus : nexus.substring(0, bar);
      synchronized (this) {
        if (!knownNexuses.contains(port)) return;
        UnitAttention ua = new UnitAttention(asc, ascq);
        Deque<UnitAttention> q = unitAttentions.computeIfAbsent(port, k -> new ArrayDeque<>());
        if (!q.contains(ua)) q.add(ua);
        quiet = null;
      }
    };
  }

  TaskSet taskSet() {
    return taskSet;
  }

  /** Exclusive access to {@code [lba, lba + blocks)} among writers; complete with the release action. */
  public Future<Runnable> lockRange(long lba, long blocks) {
    return rangeLock.acquire(lba, blocks);
  }

  /**
   * A plain write may go to the store now, without a range: true unless an exclusive range is
   * held or waited for (then take {@link #lockRange}). Pair with {@link #endWrite()}.
   */
  public boolean tryBeginWrite() {
    return rangeLock.tryWrite();
  }

  /** The plain write begun by {@link #tryBeginWrite()} is in the store. */
  public void endWrite() {
    rangeLock.endWrite();
  }

  /** Read-only by configuration or by the control mode page SWP bit. */
  public boolean writeProtected() {
    return options.readOnly() || modePages.swp();
  }

  /** Fails with DATA PROTECT when writes are not allowed (SBC-4 4.11). */
  public void checkWritable() {
    if (options.readOnly()) throw CheckCondition.of(SenseData.DATA_PROTECT, 0x27, 0x00);
    // SPC-4 §7.5.8: SWP set → LOGICAL UNIT SOFTWARE WRITE PROTECTED.
    if (modePages.swp()) throw CheckCondition.of(SenseData.DATA_PROTECT, 0x27, 0x02);
  }

  /** Fails with LOGICAL BLOCK ADDRESS OUT OF RANGE unless {@code [lba, lba + n)} fits. */
  public void checkRange(long lba, long n) {
    long cap = blocks;
    if (lba < 0 || n < 0 || lba > cap || n > cap - lba) throw CheckCondition.lbaOutOfRange();
  }

  /** Changes the capacity at runtime and raises CAPACITY DATA HAS CHANGED for every nexus (SBC-4 4.12). */
  public void capacityChanged(long newBlocks) {
    this.blocks = newBlocks;
    raiseUnitAttention(UnitAttention.CAPACITY_DATA_HAS_CHANGED, null);
  }

  /** Hook for the server when the target's LUN map changes (SPC-4 §7.6.2 REPORTED LUNS DATA HAS CHANGED). */
  public void reportedLunsChanged() {
    raiseUnitAttention(UnitAttention.REPORTED_LUNS_DATA_HAS_CHANGED, null);
  }

  /**
   * The oldest pending unit attention for this nexus, removed from the queue when {@code take}.
   * A nexus seen for the first time starts without one: unit attentions report events (resets,
   * changed parameters, preempted reservations) to the I_T nexuses that existed when they
   * happened, and a nexus formed later has missed none (LIO behaves the same). Reporting POWER ON
   * to every new session instead made initiators that reconnect under a new ISID — libiscsi does
   * after a dropped connection — meet a unit attention on every reconnect.
   */
  UnitAttention unitAttention(Nexus nexus, boolean take) {
    if (quiet == nexus) return null;
    return unitAttentionLocked(nexus, take);
  }

  private synchronized UnitAttention unitAttentionLocked(Nexus nexus, boolean take) {
    String port = nexus.initiatorPort();
    knownNexuses.add(port);
    Deque<UnitAttention> q = unitAttentions.get(port);
    if (q == null || q.isEmpty()) {
      quiet = nexus;
      return null;
    }
    return take ? q.poll() : q.peek();
  }

  /** Queues a unit attention for every known nexus except {@code except} (may be null). */
  synchronized void raiseUnitAttention(UnitAttention ua, String except) {
    for (String port : knownNexuses) {
      if (port.equals(except)) continue;
      Deque<UnitAttention> q = unitAttentions.computeIfAbsent(port, k -> new ArrayDeque<>());
      if (!q.contains(ua)) q.add(ua);
    }
    quiet = null;
  }

  /** After a reset: every nexus has exactly the reset unit attention pending (SAM-5 §6.3.3). */
  synchronized void resetState(UnitAttention ua) {
    for (String port : knownNexuses) {
      Deque<UnitAttention> q = unitAttentions.computeIfAbsent(port, k -> new ArrayDeque<>());
      q.clear();
      q.add(ua);
    }
    quiet = null;
    reservationHolder = null;
    preventing.clear();
  }

  synchronized void nexusLost(Nexus nexus) {
    // SPC-4 §5.17.4.3: the copy statuses held for the nexus go with it.
    io.spindle.scsi.impl.xcopy.CopyStatusTable.nexusLost(this, prNexus(nexus));
    String port = nexus.initiatorPort();
    knownNexuses.remove(port);
    unitAttentions.remove(port);
    quiet = null;
    preventing.remove(port);
    if (port.equals(reservationHolder)) reservationHolder = null;
  }

  /** SPC-2 RESERVE(6/10): true when granted (free or already held by this nexus). */
  public synchronized boolean reserve(Nexus nexus) {
    if (reservationHolder != null && !reservationHolder.equals(nexus.initiatorPort())) return false;
    reservationHolder = nexus.initiatorPort();
    return true;
  }

  /** SPC-2 RELEASE(6/10): releases only the holder's reservation; others are a no-op. */
  public synchronized void release(Nexus nexus) {
    if (nexus.initiatorPort().equals(reservationHolder)) reservationHolder = null;
  }

  /** True when another nexus holds the SPC-2 reservation. */
  public boolean reservedByOther(Nexus nexus) {
    String holder = reservationHolder;
    return holder != null && !holder.equals(nexus.initiatorPort());
  }

  public synchronized void prevent(Nexus nexus, boolean prevent) {
    if (prevent) preventing.add(nexus.initiatorPort());
    else preventing.remove(nexus.initiatorPort());
  }

  public synchronized boolean removalPrevented() {
    return !preventing.isEmpty();
  }

  /** Called when a nexus changed mode parameters: other nexuses learn of it (SPC-4 §7.5.2). */
  public void modeParametersChanged(Nexus by) {
    raiseUnitAttention(UnitAttention.MODE_PARAMETERS_CHANGED, by.initiatorPort());
  }

  /** The close in progress or done; null while open. */
  private Future<Void> closing;

  /**
   * Flushes and closes the store, once: later calls return the same outcome, so the server may
   * close a unit a reload retired and the engine's stop need not know about it.
   */
  @Override
  public synchronized Future<Void> close() {
    if (closing == null) {
      engine.forget(this);
      closing = store.close();
    }
    return closing;
  }
}
