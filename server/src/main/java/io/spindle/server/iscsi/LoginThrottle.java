package io.spindle.server.iscsi;

import io.spindle.server.config.LoginLimits;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Slows CHAP guessing (issue 21). Each failed authentication is counted for its source address and
 * for the initiator name it claimed; its answer waits {@code login.failureDelayMillis}, doubled with
 * each further failure of the same key (up to {@link LoginLimits#MAX_FAILURE_DELAY_MILLIS}), the
 * longer of the two. After {@code login.lockoutAfter} failures an address is locked out for
 * {@code login.lockoutSeconds}: its logins to CHAP targets are refused (0x0201) without anything
 * being checked, so guessing gains nothing. A success clears both keys. Names are never locked out
 * — a guesser must not be able to lock the real initiator out by using its name — only delayed, and
 * only on failure, so the right answer is never slowed.
 *
 * <p>Shared by every event loop: state is in concurrent maps, updated with atomic compute; no lock.
 * Entries are dropped once a failure is older than the lockout window; the maps are bounded by
 * {@link #MAX_KEYS} each (beyond it, an idle entry is evicted first).
 */
final class LoginThrottle {

  /** Keys kept per map: bounds memory (about 100 bytes each) under a flood of distinct addresses or names. */
  static final int MAX_KEYS = 65_536;

  private record Failures(int count, long lastNanos, long lockedUntilNanos) {
  }

  private static final Logger log = LoggerFactory.getLogger("io.spindle.iscsi");

  private final ConcurrentHashMap<String, Failures> byAddress = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Failures> byName = new ConcurrentHashMap<>();
  private final LongSupplier clock;
  private volatile LoginLimits limits;

  LoginThrottle(LoginLimits limits, LongSupplier nanoClock) {
    this.limits = limits;
    this.clock = nanoClock;
  }

  LoginThrottle(LoginLimits limits) {
    this(limits, System::nanoTime);
  }

  /** New limits (reload); counts so far are kept. */
  void limits(LoginLimits l) {
    this.limits = l;
  }

  /** Milliseconds the address stays locked out; 0 when it may try. */
  long lockedOutMillis(String address) {
    Failures f = byAddress.get(address);
    if (f == null) return 0;
    long left = f.lockedUntilNanos() - clock.getAsLong();
    return left > 0 ? Math.max(1, left / 1_000_000) : 0;
  }

  /** {@link #failed(String, String)}, logged with the peer. */
  long failed(String address, String initiator, String peer) {
    long delay = failed(address, initiator);
    if (delay > 0) log.info("CHAP failure {} from peer={} answered in {} ms", failures(address), peer, delay);
    return delay;
  }

  /**
   * A failed CHAP authentication from {@code address} claiming {@code initiator} (may be null).
   *
   * @return how long to hold the failure's answer, in milliseconds
   */
  long failed(String address, String initiator) {
    LoginLimits l = limits;
    long now = clock.getAsLong();
    Failures a = count(byAddress, address, now, l, true);
    if (a.count() == l.lockoutAfter() && l.lockoutSeconds() > 0) {
      log.warn("login throttle: address {} locked out for {} s after {} failed CHAP authentications (last as {})",
          address, l.lockoutSeconds(), a.count(), initiator);
    }
    long delay = delay(a.count(), l);
    if (initiator != null) delay = Math.max(delay, delay(count(byName, initiator, now, l, false).count(), l));
    return delay;
  }

  /** Failures counted for the address (for the log). */
  int failures(String address) {
    Failures f = byAddress.get(address);
    return f == null ? 0 : f.count();
  }

  void succeeded(String address, String initiator) {
    byAddress.remove(address);
    if (initiator != null) byName.remove(initiator);
  }

  private static long delay(int failures, LoginLimits l) {
    if (l.failureDelayMillis() == 0 || failures == 0) return 0;
    long d = (long) l.failureDelayMillis() << Math.min(failures - 1, 20);
    return Math.min(d, LoginLimits.MAX_FAILURE_DELAY_MILLIS);
  }

  private static Failures count(ConcurrentHashMap<String, Failures> map, String key, long now, LoginLimits l,
      boolean lockable) {
    long window = l.lockoutSeconds() * 1_000_000_000L + 600_000_000_000L; // lockout + 10 minutes
    if (map.size() >= MAX_KEYS && !map.containsKey(key)) evict(map, now, window);
    return map.compute(key, (k, f) -> {
      int count = f == null || now - f.lastNanos() > window ? 1 : f.count() + 1;
      long locked = f == null ? 0 : f.lockedUntilNanos();
      if (lockable && count >= l.lockoutAfter() && l.lockoutSeconds() > 0) locked = now + l.lockoutSeconds() * 1_000_000_000L;
      return new Failures(count, now, locked);
    });
  }

  private static void evict(ConcurrentHashMap<String, Failures> map, long now, long window) {
    map.values().removeIf(f -> now - f.lastNanos() > window && now - f.lockedUntilNanos() > 0);
    if (map.size() >= MAX_KEYS) {
      // Still full of recent entries: drop any one that is not locked out (a flood of distinct keys).
      for (var e : map.entrySet()) {
        if (e.getValue().lockedUntilNanos() - now <= 0) {
          map.remove(e.getKey(), e.getValue());
          break;
        }
      }
    }
  }
}
