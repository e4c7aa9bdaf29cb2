package io.spindle.server.iscsi;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.spindle.iscsi.negotiation.SessionParameters;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What a survivor rebuilds of a session from the store. */
class SessionReplicatorTest {

  @Test
  void negotiatedParametersSurviveTheStore() {
    SessionParameters p = new SessionParameters(false, "iqn.2026-11.test:i", "alias", "iqn.2026-11.test:t", 7, 4,
        false, true, 262144, 65536, 1, 20, 2, true, false, 2, "RFC3720", 1, false);
    Map<String, String> stored = SessionReplicator.params(p);
    assertEquals("2", stored.get("errorRecoveryLevel"));
    assertEquals(p, SessionReplicator.params(stored));
  }

  @Test
  void aMissingAliasStaysMissing() {
    SessionParameters p = new SessionParameters(false, "iqn.2026-11.test:i", null, "iqn.2026-11.test:t", 1, 1,
        true, false, 8192, 8192, 2, 0, 1, true, true, 0, "RFC3720", 1, false);
    assertEquals(p, SessionReplicator.params(SessionReplicator.params(p)));
  }

  @Test
  void theEntryOutlivesReassignment() {
    SessionParameters p = new SessionParameters(false, "i", null, "t", 1, 1, true, false, 8192, 8192, 2, 20, 1, true,
        true, 2, "RFC3720", 1, false);
    // RFC 7143 §6.2.2: Time2Wait + Time2Retain, plus one refresh period.
    assertEquals(23_000, SessionReplicator.ttlMillis(p));
    SessionParameters none = new SessionParameters(false, "i", null, "t", 1, 1, true, false, 8192, 8192, 0, 0, 1,
        true, true, 0, "RFC3720", 1, false);
    assertEquals(5000, SessionReplicator.ttlMillis(none), "an ERL 0 session's TSIH is held at least 5 s");
  }
}
