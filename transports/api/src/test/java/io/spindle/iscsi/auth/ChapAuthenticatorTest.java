package io.spindle.iscsi.auth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.iscsi.negotiation.NegotiationException;
import io.spindle.iscsi.text.TextKeys.Pair;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class ChapAuthenticatorTest {

  static final String USER = "iqn.2026-01.io.spindle:host1";
  static final String USER_SECRET = "initiator-secret-1";
  static final String TARGET_NAME = "iqn.2026-01.io.spindle:disk1";
  static final String TARGET_SECRET = "target-secret-22";
  static final SecureRandom RANDOM = new SecureRandom();

  static ChapAuthenticator target(ChapIdentity self) {
    Map<String, ChapSecret> users = Map.of(USER, ChapSecret.of(USER_SECRET));
    return new ChapAuthenticator(ChapAuthenticator.DEFAULT_ALGORITHMS, users::get, self, RANDOM);
  }

  static ChapAuthenticator target() {
    return target(new ChapIdentity(TARGET_NAME, ChapSecret.of(TARGET_SECRET)));
  }

  static ChapInitiator initiator(List<ChapAlgorithm> offer, boolean mutual) {
    return initiator(USER_SECRET, offer, mutual);
  }

  static ChapInitiator initiator(String secret, List<ChapAlgorithm> offer, boolean mutual) {
    return new ChapInitiator(new ChapIdentity(USER, ChapSecret.of(secret)), offer,
        mutual ? new ChapIdentity(TARGET_NAME, ChapSecret.of(TARGET_SECRET)) : null, RANDOM);
  }

  static NegotiationException fails(int status, ChapAuthenticator t, List<Pair> keys) {
    NegotiationException e = assertThrows(NegotiationException.class, () -> t.step(keys));
    assertEquals(status, e.status(), e.getMessage());
    assertSecretsAbsent(e.getMessage());
    return e;
  }

  static void assertSecretsAbsent(String text) {
    for (String s : List.of(USER_SECRET, TARGET_SECRET)) {
      assertFalse(text.contains(s), text);
      assertFalse(text.contains(HexFormat.of().formatHex(s.getBytes(StandardCharsets.UTF_8))), text);
    }
  }

  /** Replaces the value of one key. */
  static List<Pair> with(List<Pair> keys, String key, String value) {
    List<Pair> out = new ArrayList<>();
    for (Pair p : keys) out.add(p.key().equals(key) ? new Pair(key, value) : p);
    return out;
  }

  @Test
  void knownAnswersOfEveryAlgorithm() {
    // Computed independently (Python hashlib and coreutils md5sum) as hash(identifier || secret || challenge),
    // RFC 1994 §4.1, with identifier 0x2a, secret "SpindleSecret1" and the challenge 00 01 .. 0f.
    byte[] challenge = new byte[16];
    for (int i = 0; i < 16; i++) challenge[i] = (byte) i;
    byte[] secret = "SpindleSecret1".getBytes(StandardCharsets.US_ASCII);
    Map<ChapAlgorithm, String> expected = Map.of(
        ChapAlgorithm.MD5, "f17e97b5dbd76ee80b12d4b6988d347a",
        ChapAlgorithm.SHA1, "3815f0bd55f9c29f7390c0aa512c4b3db1cfb7d9",
        ChapAlgorithm.SHA256, "da1dcab4babeb2831a37393b9baff9214257e13403c57ae2f857e97cd1de9641",
        ChapAlgorithm.SHA3_256, "fa089068e52b816542eaf6d1d0073bec90a615f62e46c2a1abd30d88d7099620");
    for (ChapAlgorithm a : ChapAlgorithm.values()) {
      byte[] r = a.response(0x2a, secret, challenge);
      assertEquals(expected.get(a), HexFormat.of().formatHex(r), a.toString());
      assertEquals(a.digestLength, r.length);
    }
    assertEquals(5, ChapAlgorithm.MD5.code);
    assertEquals(6, ChapAlgorithm.SHA1.code);
    assertEquals(7, ChapAlgorithm.SHA256.code);
    assertEquals(8, ChapAlgorithm.SHA3_256.code);
  }

  @Test
  void md5ExchangeMatchesTheKnownAnswerComputation() throws Exception {
    ChapAuthenticator t = target();
    List<Pair> challenge = t.step(List.of(new Pair("CHAP_A", "5"))).keys();
    assertEquals("5", Chap.value(challenge, "CHAP_A"));
    int id = Integer.parseInt(Chap.value(challenge, "CHAP_I"));
    byte[] c = HexFormat.of().parseHex(Chap.value(challenge, "CHAP_C").substring(2));
    assertTrue(c.length >= 16);
    // The response is built here from java.security directly, not through ChapAlgorithm.
    java.security.MessageDigest md5 = java.security.MessageDigest.getInstance("MD5");
    md5.update((byte) id);
    md5.update(USER_SECRET.getBytes(StandardCharsets.UTF_8));
    md5.update(c);
    ChapAuthenticator.Step done = t.step(List.of(new Pair("CHAP_N", USER),
        new Pair("CHAP_R", "0x" + HexFormat.of().formatHex(md5.digest()))));
    assertTrue(done.complete());
    assertTrue(done.keys().isEmpty());
    assertTrue(t.succeeded());
    assertEquals(USER, t.user());
    assertFalse(t.mutual());
  }

  @ParameterizedTest
  @EnumSource(ChapAlgorithm.class)
  void eachAlgorithmAuthenticatesBothWays(ChapAlgorithm a) throws Exception {
    ChapAuthenticator t = target();
    ChapInitiator i = initiator(List.of(a), true);
    assertTrue(t.step(List.of()).keys().isEmpty()); // the text that chose AuthMethod=CHAP
    List<Pair> challenge = t.step(i.offer()).keys();
    assertEquals(List.of("CHAP_A", "CHAP_I", "CHAP_C"), challenge.stream().map(Pair::key).toList());
    assertTrue(Chap.binary(Chap.value(challenge, "CHAP_C")).length >= Math.max(16, a.digestLength));
    ChapAuthenticator.Step done = t.step(i.respond(challenge));
    assertTrue(done.complete());
    assertEquals(TARGET_NAME, Chap.value(done.keys(), "CHAP_N"));
    i.verify(done.keys());
    assertTrue(i.complete());
    assertEquals(a, t.algorithm());
    assertEquals(a, i.algorithm());
    assertTrue(t.mutual());
    // Later texts of the security stage carry no CHAP keys.
    assertTrue(t.step(List.of()).complete());
  }

  @Test
  void targetChoosesItsFavouriteAmongTheOfferedAndSkipsUnknownValues() throws Exception {
    assertEquals("7", Chap.value(target().step(List.of(new Pair("CHAP_A", "5,7,6"))).keys(), "CHAP_A"));
    assertEquals("5", Chap.value(target().step(List.of(new Pair("CHAP_A", "99,x,,0x80,5"))).keys(), "CHAP_A"));
    assertEquals("8", Chap.value(target().step(List.of(new Pair("CHAP_A", "0x5,0x8"))).keys(), "CHAP_A"));
    ChapAuthenticator md5Only = new ChapAuthenticator(List.of(ChapAlgorithm.MD5), u -> null, null, RANDOM);
    fails(ChapAuthenticator.AUTHENTICATION_FAILURE, md5Only, List.of(new Pair("CHAP_A", "7,8")));
  }

  @Test
  void wrongSecretUnknownUserAndWrongLengthAreAuthenticationFailures() throws Exception {
    ChapAuthenticator t = target();
    ChapInitiator i = initiator("not-the-right-one", List.of(ChapAlgorithm.SHA256), false);
    fails(0x0201, t, i.respond(t.step(i.offer()).keys()));
    assertFalse(t.succeeded());
    assertNull(t.user());

    t = target();
    i = initiator(List.of(ChapAlgorithm.SHA256), false);
    List<Pair> answer = i.respond(t.step(i.offer()).keys());
    NegotiationException e = fails(0x0201, t, with(answer, "CHAP_N", "someone-else"));
    assertTrue(e.getMessage().contains("unknown"));

    t = target();
    i = initiator(List.of(ChapAlgorithm.SHA256), false);
    answer = i.respond(t.step(i.offer()).keys());
    String r = Chap.value(answer, "CHAP_R");
    fails(0x0201, t, with(answer, "CHAP_R", r.substring(0, r.length() - 2))); // one byte short
    t = target();
    i = initiator(List.of(ChapAlgorithm.SHA256), false);
    answer = i.respond(t.step(i.offer()).keys());
    fails(0x0201, t, with(answer, "CHAP_R", Chap.value(answer, "CHAP_R") + "00")); // one byte long
  }

  @Test
  void aResponseAcceptsBase64AndUpperCaseHex() throws Exception {
    for (boolean base64 : new boolean[] {true, false}) {
      ChapAuthenticator t = target();
      ChapInitiator i = initiator(List.of(ChapAlgorithm.SHA1), false);
      List<Pair> answer = i.respond(t.step(i.offer()).keys());
      byte[] r = Chap.binary(Chap.value(answer, "CHAP_R"));
      String v = base64 ? "0b" + Base64.getEncoder().encodeToString(r) : "0X" + HexFormat.of().withUpperCase().formatHex(r);
      assertTrue(t.step(with(answer, "CHAP_R", v)).complete());
    }
  }

  @Test
  void aStolenResponseDoesNotAnswerANewChallenge() throws Exception {
    ChapAuthenticator first = target();
    ChapInitiator i = initiator(List.of(ChapAlgorithm.MD5), false);
    List<Pair> stolen = i.respond(first.step(i.offer()).keys());
    assertTrue(first.step(stolen).complete());

    ChapAuthenticator second = target();
    second.step(List.of(new Pair("CHAP_A", "5")));
    fails(0x0201, second, stolen);
  }

  @Test
  void aReflectedMutualChallengeIsRefused() throws Exception {
    ChapAuthenticator t = target();
    ChapInitiator i = initiator(List.of(ChapAlgorithm.SHA256), false);
    List<Pair> challenge = t.step(i.offer()).keys();
    List<Pair> answer = new ArrayList<>(i.respond(challenge));
    answer.add(new Pair("CHAP_I", Chap.value(challenge, "CHAP_I")));
    answer.add(new Pair("CHAP_C", Chap.value(challenge, "CHAP_C")));
    NegotiationException e = fails(0x0201, t, answer);
    assertTrue(e.getMessage().contains("reflect"));
  }

  @Test
  void aTargetSecretEqualToTheInitiatorsIsRefused() throws Exception {
    ChapAuthenticator t = target(new ChapIdentity(TARGET_NAME, ChapSecret.of(USER_SECRET)));
    ChapInitiator i = new ChapInitiator(new ChapIdentity(USER, ChapSecret.of(USER_SECRET)), List.of(ChapAlgorithm.SHA256),
        new ChapIdentity(TARGET_NAME, ChapSecret.of(TARGET_SECRET)), RANDOM);
    NegotiationException e = fails(0x0201, t, i.respond(t.step(i.offer()).keys()));
    assertTrue(e.getMessage().contains("configuration"));
    assertThrows(IllegalArgumentException.class, () -> new ChapInitiator(
        new ChapIdentity(USER, ChapSecret.of("same-secret-123")), List.of(ChapAlgorithm.MD5),
        new ChapIdentity(TARGET_NAME, ChapSecret.of("same-secret-123")), RANDOM));
  }

  @Test
  void mutualChapWithoutATargetIdentityFails() throws Exception {
    ChapAuthenticator t = target(null);
    ChapInitiator i = initiator(List.of(ChapAlgorithm.SHA256), true);
    fails(0x0201, t, i.respond(t.step(i.offer()).keys()));
  }

  @ParameterizedTest
  @ValueSource(strings = {"256", "-1", "x", "", "0x100", "99999999999", "１"})
  void aMutualIdentifierOutOfRangeIsAnInitiatorError(String id) throws Exception {
    ChapAuthenticator t = target();
    ChapInitiator i = initiator(List.of(ChapAlgorithm.SHA256), true);
    List<Pair> answer = i.respond(t.step(i.offer()).keys());
    fails(0x0200, t, with(answer, "CHAP_I", id));
  }

  @Test
  void keysOutOfOrderMissingOrRepeatedAreInitiatorErrors() throws Exception {
    fails(0x0200, target(), List.of(new Pair("CHAP_N", USER), new Pair("CHAP_R", "0x00")));
    fails(0x0200, target(), List.of(new Pair("CHAP_A", "5"), new Pair("CHAP_I", "1")));
    fails(0x0200, target(), List.of(new Pair("CHAP_X", "5")));

    ChapAuthenticator t = target();
    t.step(List.of(new Pair("CHAP_A", "5")));
    fails(0x0200, t, List.of(new Pair("CHAP_A", "5")));

    t = target();
    ChapInitiator i = initiator(List.of(ChapAlgorithm.MD5), true);
    List<Pair> answer = i.respond(t.step(i.offer()).keys());
    fails(0x0200, t, answer.subList(0, 3)); // CHAP_I without CHAP_C

    t = target();
    i = initiator(List.of(ChapAlgorithm.MD5), false);
    answer = i.respond(t.step(i.offer()).keys());
    fails(0x0200, t, answer.subList(0, 1)); // CHAP_N without CHAP_R
    t = target();
    t.step(List.of(new Pair("CHAP_A", "5")));
    fails(0x0201, t, List.of()); // no answer to the challenge at all

    t = target();
    i = initiator(List.of(ChapAlgorithm.MD5), false);
    assertTrue(t.step(i.respond(t.step(i.offer()).keys())).complete());
    fails(0x0200, t, List.of(new Pair("CHAP_C", "0x0102")));
  }

  @Test
  void malformedBinaryValuesAreInitiatorErrors() throws Exception {
    for (String bad : List.of("0x", "0xzz", "1234", "0b!!!!", "0b", "0x" + "00".repeat(1025), "0y00")) {
      ChapAuthenticator t = target();
      t.step(List.of(new Pair("CHAP_A", "5")));
      fails(0x0200, t, List.of(new Pair("CHAP_N", USER), new Pair("CHAP_R", bad)));
    }
    assertArrayEquals(new byte[] {0x0a, (byte) 0xbc}, Chap.binary("0xabc"));
  }

  @Test
  void afterAFailureEveryStepFails() throws Exception {
    ChapAuthenticator t = target();
    fails(0x0200, t, List.of(new Pair("CHAP_R", "0x00")));
    fails(0x0200, t, List.of());
    assertFalse(t.succeeded());
  }

  @Test
  void theInitiatorRefusesABadTarget() throws Exception {
    ChapInitiator i = initiator(List.of(ChapAlgorithm.SHA256), true);
    i.offer();
    List<Pair> md5 = List.of(new Pair("CHAP_A", "5"), new Pair("CHAP_I", "1"), new Pair("CHAP_C", "0x" + "11".repeat(16)));
    assertThrows(NegotiationException.class, () -> i.respond(md5));

    ChapAuthenticator impostor = target(new ChapIdentity(TARGET_NAME, ChapSecret.of("guessed-wrong-9")));
    ChapInitiator j = initiator(List.of(ChapAlgorithm.SHA256), true);
    ChapAuthenticator.Step s = impostor.step(j.respond(impostor.step(j.offer()).keys()));
    NegotiationException e = assertThrows(NegotiationException.class, () -> j.verify(s.keys()));
    assertSecretsAbsent(e.getMessage());
    assertFalse(j.complete());

    ChapInitiator k = initiator(List.of(ChapAlgorithm.SHA256), true);
    ChapAuthenticator t = target();
    t.step(k.respond(t.step(k.offer()).keys()));
    assertThrows(NegotiationException.class, () -> k.verify(List.of()));
  }

  @Test
  void secretsNeverAppearInMessagesOrDescriptions() throws Exception {
    ChapAuthenticator t = target();
    ChapInitiator i = initiator(List.of(ChapAlgorithm.MD5), true);
    List<Pair> all = new ArrayList<>();
    all.addAll(i.offer());
    List<Pair> c = t.step(all).keys();
    all.addAll(c);
    List<Pair> r = i.respond(c);
    all.addAll(r);
    ChapAuthenticator.Step done = t.step(r);
    all.addAll(done.keys());
    i.verify(done.keys());
    StringBuilder text = new StringBuilder(all.toString());
    text.append(t).append(i).append(done).append(ChapSecret.of(USER_SECRET))
        .append(new ChapIdentity(USER, ChapSecret.of(USER_SECRET)));
    assertSecretsAbsent(text.toString());
    assertNotNull(t.user());
  }
}
