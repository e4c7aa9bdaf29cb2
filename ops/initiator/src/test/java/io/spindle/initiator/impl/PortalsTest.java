package io.spindle.initiator.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.initiator.impl.Portals.Portal;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Portal selection: which portal a session continues on after its own failed. */
class PortalsTest {

  private static final Portal A = new Portal("10.77.0.11", 3260);
  private static final Portal B = new Portal("10.77.0.12", 3260);
  private static final Portal C = new Portal("10.77.0.13", 3260);

  @Test
  void parsesHostPortV6AndTargetAddresses() {
    assertEquals(new Portal("10.77.0.11", 3260), Portal.parse("10.77.0.11"));
    assertEquals(new Portal("node-a", 21001), Portal.parse("node-a:21001"));
    assertEquals(new Portal("fe80::1", 3261), Portal.parse("[fe80::1]:3261"));
    assertEquals(new Portal("10.77.0.12", 3260), Portal.parse("10.77.0.12:3260,1"));
    assertEquals(new Portal("fe80::1", 3260), Portal.parse("[fe80::1]:3260,7"));
    assertEquals(1, Portal.groupTag("10.77.0.12:3260,1"));
    assertEquals(-1, Portal.groupTag("[fe80::1]:3260"));
    assertEquals("[fe80::1]:3260", new Portal("fe80::1", 3260).toString());
    assertThrows(IllegalArgumentException.class, () -> Portal.parse(":3260"));
    assertThrows(IllegalArgumentException.class, () -> Portal.parse("host:0"));
    assertThrows(IllegalArgumentException.class, () -> Portal.parse("host:x"));
    assertThrows(IllegalArgumentException.class, () -> Portal.parse("[fe80::1"));
  }

  @Test
  void afterAFailureTheNextPortalInOrderTakesOver() {
    Portals p = new Portals(List.of(A, B, C));
    p.failed(A, 1);
    assertEquals(B, p.next(A));
    p.failed(B, 2);
    assertEquals(C, p.next(B));
  }

  @Test
  void aFailedPortalIsSkippedUntilItWorksAgain() {
    Portals p = new Portals(List.of(A, B, C));
    p.failed(A, 1);
    p.succeeded(B);
    p.failed(B, 2); // the session's node B dies next; A never came back
    assertEquals(C, p.next(B));
    p.succeeded(C);
    p.failed(C, 3);
    // Every portal has failed: the one that failed longest ago (A, restarted by now) comes first.
    assertEquals(A, p.next(C));
    p.succeeded(A);
    assertFalse(p.hasFailed(A));
    assertEquals(A, p.next(C));
  }

  @Test
  void wrapsAroundAndFallsBackToItselfWhenAlone() {
    Portals p = new Portals(List.of(A, B));
    p.failed(B, 1);
    assertEquals(A, p.next(B));
    Portals one = new Portals(List.of(A));
    one.failed(A, 1);
    assertEquals(A, one.next(A));
  }

  @Test
  void sendTargetsAddsPortalsAndDropsTheOnesNoLongerReported() {
    Portals p = new Portals(List.of(A));
    assertTrue(p.discovered(List.of(A, B, C)));
    assertEquals(List.of(A, B, C), p.all());
    assertFalse(p.discovered(List.of(B, C, A)), "same set, already known");
    p.failed(C, 1);
    // Node C left: its portal goes; the one the user gave stays even when not reported.
    assertTrue(p.discovered(List.of(B)));
    assertEquals(List.of(A, B), p.all());
    assertFalse(p.hasFailed(C));
    // C back: it is listed again without its old failure.
    assertTrue(p.discovered(List.of(A, B, C)));
    assertFalse(p.hasFailed(C));
    assertEquals(B, p.next(A));
  }

  @Test
  void aPortalGivenTwiceIsListedOnce() {
    assertEquals(List.of(A, B), new Portals(List.of(A, B, A)).all());
    assertThrows(IllegalArgumentException.class, () -> new Portals(List.of()));
  }
}
