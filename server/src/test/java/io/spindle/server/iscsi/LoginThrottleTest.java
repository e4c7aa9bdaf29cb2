package io.spindle.server.iscsi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.server.config.LoginLimits;
import org.junit.jupiter.api.Test;

/** The throttle's rules on a clock the test moves: no sleeping, no timing. */
class LoginThrottleTest {

  private long now = 1_000_000_000L;
  private final LoginLimits limits = new LoginLimits(64, 1024, 128, 65536, 1000, 4, 300, 25);
  private final LoginThrottle t = new LoginThrottle(limits, () -> now);

  @Test
  void delaysDoubleThenTheAddressIsLockedOutForTheWindow() {
    assertEquals(1000, t.failed("10.0.0.1", "iqn.a"));
    assertEquals(2000, t.failed("10.0.0.1", "iqn.a"));
    assertEquals(4000, t.failed("10.0.0.1", "iqn.a"));
    assertEquals(0, t.lockedOutMillis("10.0.0.1"));
    assertEquals(8000, t.failed("10.0.0.1", "iqn.a"));
    assertEquals(300_000, t.lockedOutMillis("10.0.0.1"));
    now += 299_000_000_000L;
    assertTrue(t.lockedOutMillis("10.0.0.1") > 0);
    now += 2_000_000_000L;
    assertEquals(0, t.lockedOutMillis("10.0.0.1"), "the lockout ends");
  }

  @Test
  void theDelayIsCapped() {
    long last = 0;
    for (int i = 0; i < 40; i++) last = t.failed("10.0.0.2", null);
    assertEquals(LoginLimits.MAX_FAILURE_DELAY_MILLIS, last);
  }

  @Test
  void aNameIsDelayedButNeverLockedOutAndOtherAddressesAreNotLocked() {
    for (int i = 0; i < 10; i++) t.failed("10.0.1." + i, "iqn.victim");
    for (int i = 0; i < 10; i++) assertEquals(0, t.lockedOutMillis("10.0.1." + i), "one failure per address");
    // The name's own count makes the next failure wait, whoever sends it.
    assertTrue(t.failed("10.0.2.1", "iqn.victim") >= 16_000);
    assertEquals(0, t.lockedOutMillis("10.0.2.2"), "an address that never failed may try");
  }

  @Test
  void aSuccessClearsBothKeysAndOldFailuresAreForgotten() {
    t.failed("10.0.0.3", "iqn.b");
    t.failed("10.0.0.3", "iqn.b");
    t.succeeded("10.0.0.3", "iqn.b");
    assertEquals(1000, t.failed("10.0.0.3", "iqn.b"), "counting starts again after a success");
    now += (300 + 601) * 1_000_000_000L;
    assertEquals(1000, t.failed("10.0.0.3", "iqn.b"), "a failure older than lockout + 10 min is forgotten");
  }

  @Test
  void delaysOffMeansNoDelayButStillALockout() {
    LoginThrottle off = new LoginThrottle(new LoginLimits(64, 1024, 128, 65536, 0, 2, 60, 25), () -> now);
    assertEquals(0, off.failed("10.0.0.4", null));
    assertEquals(0, off.failed("10.0.0.4", null));
    assertEquals(60_000, off.lockedOutMillis("10.0.0.4"));
  }
}
