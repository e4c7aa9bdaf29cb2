package io.spindle.iscsi.auth;

import io.spindle.iscsi.negotiation.NegotiationException;
import io.spindle.iscsi.text.TextKeys.Pair;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The initiator's side of CHAP (RFC 7143 §12.1.3): offers algorithms, answers the target's challenge and,
 * for mutual CHAP, challenges the target and checks its answer. One per connection.
 *
 * <p>Use with {@code InitiatorNegotiator}: once the target chose AuthMethod=CHAP, send {@link #offer()};
 * pass the CHAP keys of the next Login Response ({@code authenticationKeys()}) to {@link #respond(List)}
 * and send what it returns; pass the CHAP keys of the response after that to {@link #verify(List)}
 * before accepting the transit out of the security stage. A {@link NegotiationException} means: drop the
 * connection (RFC 7143 §12.1.3: the initiator ends the login when the target fails to authenticate).
 */
public final class ChapInitiator {

  private enum State { NEW, OFFERED, RESPONDED, DONE }

  private final ChapIdentity self;
  private final List<ChapAlgorithm> offered;
  private final ChapIdentity target;
  private final SecureRandom random;
  private final Set<String> seen = new HashSet<>();
  private State state = State.NEW;
  private ChapAlgorithm algorithm;
  private int identifier;
  private byte[] challenge;

  /**
   * @param self    the initiator's CHAP name and secret
   * @param offered the algorithms to offer, in order of preference
   * @param target  for mutual CHAP, the name and secret the target must prove; null for one-way CHAP
   */
  public ChapInitiator(ChapIdentity self, List<ChapAlgorithm> offered, ChapIdentity target, SecureRandom random) {
    if (offered.isEmpty() || new HashSet<>(offered).size() != offered.size()) {
      throw new IllegalArgumentException("offered CHAP algorithms must be a non-empty list without repeats");
    }
    if (target != null && target.secret().sameAs(self.secret())) {
      // RFC 7143 §9.2.1: the secrets of the two directions must differ.
      throw new IllegalArgumentException("the target's CHAP secret must differ from the initiator's");
    }
    this.self = self;
    this.offered = List.copyOf(offered);
    this.target = target;
    this.random = random;
  }

  /** The CHAP_A offer that opens the exchange. */
  public List<Pair> offer() {
    if (state != State.NEW) throw new IllegalStateException("CHAP_A already offered");
    state = State.OFFERED;
    StringBuilder b = new StringBuilder();
    for (ChapAlgorithm a : offered) {
      if (b.length() > 0) b.append(',');
      b.append(a.code);
    }
    return List.of(new Pair(Chap.A, b.toString()));
  }

  /** Answers the target's CHAP_A, CHAP_I and CHAP_C with CHAP_N and CHAP_R (and CHAP_I, CHAP_C when mutual). */
  public List<Pair> respond(List<Pair> keys) throws NegotiationException {
    if (state != State.OFFERED) throw new IllegalStateException("respond() follows offer()");
    record(keys);
    String a = Chap.value(keys, Chap.A);
    String i = Chap.value(keys, Chap.I);
    String c = Chap.value(keys, Chap.C);
    if (a == null || i == null || c == null || keys.size() != 3) {
      throw Chap.initiatorError("target must answer with exactly CHAP_A, CHAP_I and CHAP_C");
    }
    ChapAlgorithm chosen = ChapAlgorithm.of(Chap.number(a, 255));
    if (chosen == null || !offered.contains(chosen)) {
      throw Chap.authenticationFailure("target chose CHAP_A=" + Chap.quote(a) + ", which was not offered");
    }
    int id = Chap.number(i, 255);
    if (id < 0) throw Chap.initiatorError("CHAP_I " + Chap.quote(i) + " is not a number in 0..255");
    byte[] targetChallenge = Chap.binary(c);
    if (targetChallenge == null) {
      throw Chap.initiatorError("CHAP_C is not a binary value of 1.." + Chap.MAX_BINARY_LENGTH + " bytes");
    }
    algorithm = chosen;
    List<Pair> out = new ArrayList<>();
    out.add(new Pair(Chap.N, self.name()));
    out.add(new Pair(Chap.R, Chap.hex(chosen.response(id, self.secret().bytes(), targetChallenge))));
    if (target != null) {
      identifier = random.nextInt(256);
      challenge = new byte[Math.max(ChapAuthenticator.DEFAULT_CHALLENGE_LENGTH, chosen.digestLength)];
      do {
        random.nextBytes(challenge);
      } while (MessageDigest.isEqual(challenge, targetChallenge)); // never reflect the target's challenge
      out.add(new Pair(Chap.I, Integer.toString(identifier)));
      out.add(new Pair(Chap.C, Chap.hex(challenge)));
    }
    state = State.RESPONDED;
    return out;
  }

  /**
   * Checks the target's last CHAP keys: for mutual CHAP its CHAP_N and CHAP_R, otherwise that there are none.
   */
  public void verify(List<Pair> keys) throws NegotiationException {
    if (state != State.RESPONDED) throw new IllegalStateException("verify() follows respond()");
    record(keys);
    if (target == null) {
      if (!keys.isEmpty()) throw Chap.initiatorError("target sent CHAP keys after a one-way CHAP response");
      state = State.DONE;
      return;
    }
    String n = Chap.value(keys, Chap.N);
    String r = Chap.value(keys, Chap.R);
    if (n == null || r == null || keys.size() != 2) {
      throw Chap.authenticationFailure("target did not answer the mutual CHAP challenge");
    }
    byte[] got = Chap.binary(r);
    byte[] expected = algorithm.response(identifier, target.secret().bytes(), challenge);
    if (!n.equals(target.name()) || got == null || !MessageDigest.isEqual(expected, got)) {
      throw Chap.authenticationFailure("target failed mutual CHAP authentication as " + Chap.quote(target.name()));
    }
    challenge = null;
    state = State.DONE;
  }

  private void record(List<Pair> keys) throws NegotiationException {
    for (Pair p : keys) {
      if (!seen.add(p.key())) throw Chap.initiatorError(p.key() + " sent twice in the CHAP exchange");
    }
  }

  /** True once the target's challenge was answered and, for mutual CHAP, the target proved itself. */
  public boolean complete() {
    return state == State.DONE;
  }

  public ChapAlgorithm algorithm() {
    return algorithm;
  }

  @Override
  public String toString() {
    return "ChapInitiator[" + self + ", " + state + (target != null ? ", mutual" : "") + "]";
  }
}
