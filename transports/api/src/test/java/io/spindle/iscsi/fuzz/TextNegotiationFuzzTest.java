package io.spindle.iscsi.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.spindle.iscsi.auth.ChapAuthenticator;
import io.spindle.iscsi.auth.ChapIdentity;
import io.spindle.iscsi.auth.ChapSecret;
import io.spindle.iscsi.negotiation.NegotiationException;
import io.spindle.iscsi.negotiation.NegotiationLimits;
import io.spindle.iscsi.negotiation.OperationalOptions;
import io.spindle.iscsi.negotiation.Reply;
import io.spindle.iscsi.negotiation.SessionParameters;
import io.spindle.iscsi.negotiation.Stage;
import io.spindle.iscsi.negotiation.TargetNegotiator;
import io.spindle.iscsi.text.TextKeys;
import io.spindle.iscsi.text.TextKeys.MalformedTextException;
import io.spindle.iscsi.text.TextKeys.Pair;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;

/**
 * A login as the server drives it, from arbitrary texts: TextKeys.parse throws nothing but
 * MalformedTextException and round-trips what it accepts; the TargetNegotiator and the CHAP authenticator
 * throw nothing but NegotiationException; the authenticator never succeeds (the input cannot know the
 * secret nor predict the challenge).
 *
 * <p>Input layout: byte 0 chooses the target's options (bit 0: AuthMethod CHAP,None or None; bit 1: a
 * connection added to an existing session); then records of [CSG byte][length: 2 bytes big-endian][text].
 * A record with CSG 3 after the login is a Full Feature Phase Text request. See FUZZING.md.
 */
class TextNegotiationFuzzTest {

  private static final SecureRandom RANDOM = new SecureRandom();

  @FuzzTest(maxDuration = "2m")
  void login(byte[] input) {
    if (input.length == 0) return;
    int control = input[0] & 0xff;
    OperationalOptions options = new OperationalOptions().authMethods((control & 1) != 0 ? "CHAP,None" : "None");
    SessionParameters existing = null;
    if ((control & 2) != 0) {
      TargetNegotiator first = new TargetNegotiator(new OperationalOptions(), 1);
      try {
        first.login(Stage.OPERATIONAL, List.of(new Pair("InitiatorName", "iqn.2026-01.io.spindle:i"),
            new Pair("TargetName", "iqn.2026-01.io.spindle:t")));
      } catch (NegotiationException e) {
        throw new AssertionError(e);
      }
      existing = first.sessionParameters();
    }
    TargetNegotiator negotiator = new TargetNegotiator(options, 1, existing,
        NegotiationLimits.DEFAULT);
    Map<String, ChapSecret> users = Map.of("iqn.2026-01.io.spindle:i", ChapSecret.of("initiator-secret-1"));
    ChapAuthenticator auth = new ChapAuthenticator(ChapAuthenticator.DEFAULT_ALGORITHMS, users::get,
        new ChapIdentity("iqn.2026-01.io.spindle:t", ChapSecret.of("target-secret-22")), RANDOM);
    boolean loggedIn = false;
    int i = 1;
    while (i + 3 <= input.length) {
      Stage stage = Stage.of(input[i]);
      int length = Math.min(((input[i + 1] & 0xff) << 8) | (input[i + 2] & 0xff), input.length - i - 3);
      List<Pair> text = parse(input, i + 3, length);
      i += 3 + length;
      if (text == null || stage == null) continue;
      try {
        if (loggedIn) {
          negotiator.text(text);
          continue;
        }
        if (stage == Stage.FULL_FEATURE) {
          negotiator.loginComplete();
          loggedIn = true;
          negotiator.text(text);
          continue;
        }
        Reply reply = negotiator.login(stage, text);
        if ("CHAP".equals(negotiator.authMethod())) auth.step(reply.authenticationKeys());
        negotiator.canTransit();
        negotiator.needsOperationalStage();
        negotiator.sessionParameters();
        negotiator.connectionParameters();
      } catch (NegotiationException e) {
        return;
      } finally {
        assertFalse(auth.succeeded(), "CHAP succeeded without the secret");
      }
    }
  }

  /** Parses one text; null if malformed. Anything but MalformedTextException escapes and is a finding. */
  private static List<Pair> parse(byte[] input, int offset, int length) {
    ByteBuf b = Unpooled.wrappedBuffer(input, offset, length);
    List<Pair> pairs;
    try {
      pairs = TextKeys.parse(b);
    } catch (MalformedTextException e) {
      return null;
    } finally {
      b.release();
    }
    ByteBuf again = TextKeys.encode(pairs);
    try {
      assertEquals(pairs, TextKeys.parse(again), "parse(encode(parse(x))) differs from parse(x)");
    } catch (MalformedTextException e) {
      throw new AssertionError("re-encoded text no longer parses", e);
    } finally {
      again.release();
    }
    return pairs;
  }
}
