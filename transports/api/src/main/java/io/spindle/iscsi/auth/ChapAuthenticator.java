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
 * The target's side of CHAP in the security stage (RFC 7143 §12.1.3, RFC 1994): one per connection,
 * pure logic, confined to the connection's context.
 *
 * <p>The exchange: the initiator offers CHAP_A=&lt;A1,A2,...&gt;; the target answers with the algorithm it
 * prefers among those, an identifier CHAP_I and a random challenge CHAP_C; the initiator answers with its
 * name CHAP_N and response CHAP_R, and for mutual CHAP adds its own CHAP_I and CHAP_C, which the target
 * answers with its CHAP_N and CHAP_R once the initiator is authenticated.
 *
 * <p>Use with {@code TargetNegotiator}: after each {@code reply = negotiator.login(SECURITY, pairs)} for
 * which {@code negotiator.authMethod()} is CHAP, call {@link #step(List)} with
 * {@code reply.authenticationKeys()} and append {@link Step#keys()} to {@code reply.pairs()}. Grant the
 * transit out of the security stage only once {@link #succeeded()}. A {@link NegotiationException} is
 * answered like a negotiation failure: a Login Response with its {@link NegotiationException#status()}
 * (0x0201 authentication failure, 0x0200 initiator error, RFC 7143 §11.13.5), then close. Exception
 * messages name the user and the reason but never a secret, so the server may log them.
 */
public final class ChapAuthenticator {

  /** RFC 7143 §11.13.5 status 0x0201: the initiator could not be authenticated, or target authentication is not supported. */
  public static final int AUTHENTICATION_FAILURE = 0x0201;
  /** Strongest first; MD5 last but present because RFC 7143 §12.1.3 makes it the one every implementation has. */
  public static final List<ChapAlgorithm> DEFAULT_ALGORITHMS =
      List.of(ChapAlgorithm.SHA3_256, ChapAlgorithm.SHA256, ChapAlgorithm.SHA1, ChapAlgorithm.MD5);
  /** Bytes of challenge sent, raised to the digest length when that is longer. */
  public static final int DEFAULT_CHALLENGE_LENGTH = 32;

  /** What one step produced. */
  public record Step(List<Pair> keys, boolean complete) {
    public Step {
      keys = List.copyOf(keys);
    }
  }

  private enum State { AWAIT_ALGORITHMS, AWAIT_RESPONSE, DONE, FAILED }

  private final List<ChapAlgorithm> allowed;
  private final ChapCredentials credentials;
  private final ChapIdentity target;
  private final SecureRandom random;
  private final int challengeLength;
  private final Set<String> seen = new HashSet<>();
  private State state = State.AWAIT_ALGORITHMS;
  private NegotiationException failure;
  private ChapAlgorithm algorithm;
  private int identifier;
  private byte[] challenge;
  private String user;
  private boolean mutual;

  public ChapAuthenticator(List<ChapAlgorithm> allowed, ChapCredentials credentials, ChapIdentity target,
      SecureRandom random) {
    this(allowed, credentials, target, random, DEFAULT_CHALLENGE_LENGTH);
  }

  /**
   * @param allowed         the algorithms the target accepts, in its order of preference
   * @param credentials     the initiators' secrets by CHAP_N
   * @param target          the target's own name and secret for mutual CHAP, or null if it offers none
   * @param challengeLength bytes of challenge to send, 16..1024; never less than the chosen digest
   */
  public ChapAuthenticator(List<ChapAlgorithm> allowed, ChapCredentials credentials, ChapIdentity target,
      SecureRandom random, int challengeLength) {
    if (allowed.isEmpty() || new HashSet<>(allowed).size() != allowed.size()) {
      throw new IllegalArgumentException("allowed CHAP algorithms must be a non-empty list without repeats");
    }
    if (challengeLength < Chap.MIN_CHALLENGE_LENGTH || challengeLength > Chap.MAX_BINARY_LENGTH) {
      throw new IllegalArgumentException("challenge length " + challengeLength + " outside "
          + Chap.MIN_CHALLENGE_LENGTH + ".." + Chap.MAX_BINARY_LENGTH);
    }
    this.allowed = List.copyOf(allowed);
    this.credentials = credentials;
    this.target = target;
    this.random = random;
    this.challengeLength = challengeLength;
  }

  /**
   * Consumes the CHAP keys of one initiator text and returns the keys to send back.
   *
   * @param keys the CHAP_* pairs of the text, in order ({@code Reply.authenticationKeys()}); may be empty
   *             for the text that negotiated AuthMethod
   * @throws NegotiationException when the exchange must end with a failed login
   */
  public Step step(List<Pair> keys) throws NegotiationException {
    if (state == State.FAILED) throw failure;
    try {
      return advance(keys);
    } catch (NegotiationException e) {
      state = State.FAILED;
      failure = e;
      challenge = null;
      throw e;
    }
  }

  private Step advance(List<Pair> keys) throws NegotiationException {
    for (Pair p : keys) {
      String k = p.key();
      if (!k.equals(Chap.A) && !k.equals(Chap.I) && !k.equals(Chap.C) && !k.equals(Chap.N) && !k.equals(Chap.R)) {
        throw Chap.initiatorError(Chap.quote(k) + " is not a CHAP key");
      }
      // RFC 7143 §6.1: a key is sent once in a negotiation; the whole CHAP exchange is one login.
      if (!seen.add(k)) throw Chap.initiatorError(k + " sent twice in the CHAP exchange");
    }
    switch (state) {
      case AWAIT_ALGORITHMS:
        if (keys.isEmpty()) return new Step(List.of(), false);
        return chooseAlgorithm(keys);
      case AWAIT_RESPONSE:
        return checkResponse(keys);
      case DONE:
        if (!keys.isEmpty()) throw Chap.initiatorError(keys.get(0).key() + " after the CHAP exchange ended");
        return new Step(List.of(), true);
      default:
        throw new AssertionError(state);
    }
  }

  private Step chooseAlgorithm(List<Pair> keys) throws NegotiationException {
    if (keys.size() != 1 || !keys.get(0).key().equals(Chap.A)) {
      // RFC 7143 §12.1.3: the exchange opens with the initiator's CHAP_A alone.
      throw Chap.initiatorError("expected CHAP_A first, got " + names(keys));
    }
    List<Integer> offered = new ArrayList<>();
    for (String v : keys.get(0).value().split(",", -1)) {
      // Values this side does not recognize are skipped: the target picks from what it knows (RFC 7143 §6.2).
      int code = Chap.number(v, 255);
      if (code >= 0) offered.add(code);
    }
    for (ChapAlgorithm a : allowed) {
      if (offered.contains(a.code)) {
        algorithm = a;
        break;
      }
    }
    if (algorithm == null) {
      throw Chap.authenticationFailure("none of the offered CHAP algorithms " + Chap.quote(keys.get(0).value())
          + " is allowed");
    }
    identifier = random.nextInt(256);
    challenge = new byte[Math.max(challengeLength, algorithm.digestLength)];
    random.nextBytes(challenge);
    state = State.AWAIT_RESPONSE;
    return new Step(List.of(new Pair(Chap.A, Integer.toString(algorithm.code)),
        new Pair(Chap.I, Integer.toString(identifier)), new Pair(Chap.C, Chap.hex(challenge))), false);
  }

  private Step checkResponse(List<Pair> keys) throws NegotiationException {
    String name = Chap.value(keys, Chap.N);
    String response = Chap.value(keys, Chap.R);
    String peerId = Chap.value(keys, Chap.I);
    String peerChallenge = Chap.value(keys, Chap.C);
    if (Chap.value(keys, Chap.A) != null) throw Chap.initiatorError("CHAP_A after the challenge");
    if (name == null && response == null) throw Chap.authenticationFailure("no CHAP response to the challenge");
    if (name == null || response == null) throw Chap.initiatorError("CHAP_N and CHAP_R must come together");
    if ((peerId == null) != (peerChallenge == null)) throw Chap.initiatorError("CHAP_I and CHAP_C must come together");
    if (name.isEmpty() || Chap.utf8Length(name) > Chap.MAX_NAME_LENGTH) {
      throw Chap.initiatorError("CHAP_N is empty or longer than " + Chap.MAX_NAME_LENGTH + " bytes");
    }
    byte[] got = Chap.binary(response);
    if (got == null) throw Chap.initiatorError("CHAP_R is not a binary value of 1.." + Chap.MAX_BINARY_LENGTH + " bytes");
    int mutualId = -1;
    byte[] mutualChallenge = null;
    if (peerId != null) {
      mutualId = Chap.number(peerId, 255);
      if (mutualId < 0) throw Chap.initiatorError("CHAP_I " + Chap.quote(peerId) + " is not a number in 0..255");
      mutualChallenge = Chap.binary(peerChallenge);
      if (mutualChallenge == null) {
        throw Chap.initiatorError("CHAP_C is not a binary value of 1.." + Chap.MAX_BINARY_LENGTH + " bytes");
      }
    }

    ChapSecret secret = credentials.secretFor(name);
    // Compute and compare even for an unknown user, so that timing does not tell which names exist.
    byte[] expected = algorithm.response(identifier, secret != null ? secret.bytes() : challenge, challenge);
    boolean match = MessageDigest.isEqual(expected, got);
    if (secret == null) throw Chap.authenticationFailure("unknown CHAP user " + Chap.quote(name));
    if (got.length != algorithm.digestLength) {
      throw Chap.authenticationFailure("CHAP_R of " + Chap.quote(name) + " is " + got.length + " bytes, "
          + algorithm + " gives " + algorithm.digestLength);
    }
    if (!match) throw Chap.authenticationFailure("wrong CHAP response for user " + Chap.quote(name));
    user = name;

    List<Pair> out = List.of();
    if (mutualChallenge != null) {
      if (target == null) {
        throw Chap.authenticationFailure("initiator " + Chap.quote(name) + " asks for mutual CHAP, none configured");
      }
      // RFC 7143 §12.1.3: a challenge equal to the one we sent would make us answer our own question,
      // turning the target into an oracle for the initiator's response (reflection attack).
      if (MessageDigest.isEqual(mutualChallenge, challenge)) {
        throw Chap.authenticationFailure("mutual CHAP challenge of " + Chap.quote(name) + " reflects the target's");
      }
      // RFC 7143 §9.2.1: a secret must not serve both directions; refusing keeps a misconfiguration
      // from letting anyone who captured one direction impersonate the other.
      if (target.secret().sameAs(secret)) {
        throw Chap.authenticationFailure("target CHAP secret equals the secret of user " + Chap.quote(name)
            + " (configuration error)");
      }
      mutual = true;
      out = List.of(new Pair(Chap.N, target.name()),
          new Pair(Chap.R, Chap.hex(algorithm.response(mutualId, target.secret().bytes(), mutualChallenge))));
    }
    challenge = null; // one response per challenge: nothing can be checked against it again
    state = State.DONE;
    return new Step(out, true);
  }

  private static String names(List<Pair> keys) {
    List<String> out = new ArrayList<>();
    for (Pair p : keys) out.add(p.key());
    return out.toString();
  }

  /** True once the initiator is authenticated (and the target answered any mutual challenge). */
  public boolean succeeded() {
    return state == State.DONE;
  }

  /** The authenticated CHAP_N, or null before {@link #succeeded()}. */
  public String user() {
    return state == State.DONE ? user : null;
  }

  /** The algorithm chosen, or null before the initiator's CHAP_A. */
  public ChapAlgorithm algorithm() {
    return algorithm;
  }

  /** True if the target also authenticated itself to the initiator. */
  public boolean mutual() {
    return mutual;
  }

  @Override
  public String toString() {
    return "ChapAuthenticator[" + state + (algorithm != null ? ", " + algorithm : "")
        + (user != null ? ", user " + Chap.quote(user) : "") + "]";
  }
}
