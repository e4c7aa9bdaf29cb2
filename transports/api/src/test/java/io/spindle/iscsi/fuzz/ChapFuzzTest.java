package io.spindle.iscsi.fuzz;

import static org.junit.jupiter.api.Assertions.assertFalse;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.spindle.iscsi.auth.ChapAlgorithm;
import io.spindle.iscsi.auth.ChapAuthenticator;
import io.spindle.iscsi.auth.ChapIdentity;
import io.spindle.iscsi.auth.ChapInitiator;
import io.spindle.iscsi.auth.ChapSecret;
import io.spindle.iscsi.negotiation.NegotiationException;
import io.spindle.iscsi.text.TextKeys.Pair;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Arbitrary CHAP keys against both CHAP roles: nothing but NegotiationException escapes, and neither side
 * ever completes against a peer that does not know the secret.
 */
class ChapFuzzTest {

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String[] KEYS = {"CHAP_A", "CHAP_I", "CHAP_C", "CHAP_N", "CHAP_R", "CHAP_X"};
  private static final String[] VALUES = {"5", "6", "7", "8", "5,7", "0x05", "255", "256", "-1", "", "0x", "0b",
      "0x00112233445566778899aabbccddeeff", "0bAAECAwQFBgcICQoLDA0ODw==", "iqn.2026-01.io.spindle:i"};

  private static List<Pair> keys(FuzzedDataProvider data) {
    List<Pair> out = new ArrayList<>();
    int n = data.consumeInt(0, 5);
    for (int k = 0; k < n; k++) {
      String key = KEYS[data.consumeInt(0, KEYS.length - 1)];
      String value = data.consumeBoolean() ? VALUES[data.consumeInt(0, VALUES.length - 1)] : data.consumeString(80);
      out.add(new Pair(key, value));
    }
    return out;
  }

  @FuzzTest(maxDuration = "1m")
  void authenticator(FuzzedDataProvider data) {
    Map<String, ChapSecret> users = Map.of("iqn.2026-01.io.spindle:i", ChapSecret.of("initiator-secret-1"));
    ChapIdentity self = data.consumeBoolean() ? new ChapIdentity("t", ChapSecret.of("target-secret-22")) : null;
    ChapAuthenticator auth = new ChapAuthenticator(ChapAuthenticator.DEFAULT_ALGORITHMS, users::get, self, RANDOM);
    for (int step = 0; step < 4; step++) {
      try {
        auth.step(keys(data));
      } catch (NegotiationException e) {
        break;
      }
      assertFalse(auth.succeeded(), "CHAP succeeded without the secret");
    }
  }

  @FuzzTest(maxDuration = "1m")
  void initiator(FuzzedDataProvider data) {
    ChapInitiator chap = new ChapInitiator(new ChapIdentity("iqn.2026-01.io.spindle:i", ChapSecret.of("initiator-secret-1")),
        List.of(ChapAlgorithm.SHA256, ChapAlgorithm.MD5),
        data.consumeBoolean() ? new ChapIdentity("t", ChapSecret.of("target-secret-22")) : null, RANDOM);
    chap.offer();
    try {
      chap.respond(keys(data));
      chap.verify(keys(data));
    } catch (NegotiationException e) {
      return;
    }
    // Without mutual CHAP an empty last text is legitimately complete; with it, only the secret completes.
  }
}
