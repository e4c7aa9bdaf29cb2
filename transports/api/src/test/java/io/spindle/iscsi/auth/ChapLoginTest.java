package io.spindle.iscsi.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.spindle.iscsi.negotiation.InitiatorNegotiator;
import io.spindle.iscsi.negotiation.NegotiationException;
import io.spindle.iscsi.negotiation.OperationalOptions;
import io.spindle.iscsi.negotiation.Reply;
import io.spindle.iscsi.negotiation.Stage;
import io.spindle.iscsi.negotiation.TargetNegotiator;
import io.spindle.iscsi.text.TextKeys;
import io.spindle.iscsi.text.TextKeys.Pair;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A whole security stage between the two negotiators, each with its CHAP side, through the text codec:
 * what the server and the project's initiator do with these classes.
 */
class ChapLoginTest {

  static final String IQN_I = "iqn.2026-01.io.spindle:host1";
  static final String IQN_T = "iqn.2026-01.io.spindle:disk1";

  static List<Pair> wire(List<Pair> pairs) throws Exception {
    ByteBuf b = TextKeys.encode(pairs);
    try {
      return TextKeys.parse(b);
    } finally {
      b.release();
    }
  }

  /** The target's handling of one Login Request in the security stage, as the server should do it. */
  static List<Pair> targetAnswers(TargetNegotiator tgt, ChapAuthenticator auth, List<Pair> request) throws Exception {
    Reply reply = tgt.login(Stage.SECURITY, wire(request));
    List<Pair> out = new ArrayList<>(reply.pairs());
    if ("CHAP".equals(tgt.authMethod())) {
      out.addAll(auth.step(reply.authenticationKeys()).keys());
    } else if (!reply.authenticationKeys().isEmpty()) {
      throw new NegotiationException(NegotiationException.INITIATOR_ERROR, "CHAP keys without AuthMethod=CHAP");
    }
    return wire(out);
  }

  private static void securityStage(InitiatorNegotiator ini, ChapInitiator chap, TargetNegotiator tgt,
      ChapAuthenticator auth) throws Exception {
    // 1: declarations and AuthMethod offer; the target chooses CHAP
    List<Pair> response = targetAnswers(tgt, auth, ini.start(Stage.SECURITY));
    List<Pair> request = new ArrayList<>(ini.receive(Stage.SECURITY, response));
    assertEquals("CHAP", ini.authMethod());
    assertFalse(auth.succeeded());
    // 2: CHAP_A -> CHAP_A, CHAP_I, CHAP_C
    request.addAll(chap.offer());
    response = targetAnswers(tgt, auth, request);
    request = new ArrayList<>(ini.receive(Stage.SECURITY, response));
    // 3: CHAP_N, CHAP_R, CHAP_I, CHAP_C -> CHAP_N, CHAP_R; now the target may grant the transit
    request.addAll(chap.respond(ini.authenticationKeys()));
    response = targetAnswers(tgt, auth, request);
    assertTrue(auth.succeeded());
    assertTrue(tgt.canTransit());
    ini.receive(Stage.SECURITY, response);
    chap.verify(ini.authenticationKeys());
    assertTrue(chap.complete());
  }

  @Test
  void mutualChapThenOperationalStage() throws Exception {
    TargetNegotiator tgt = new TargetNegotiator(new OperationalOptions().authMethods("CHAP"), 1);
    InitiatorNegotiator ini = new InitiatorNegotiator(new OperationalOptions().authMethods("CHAP,None"), IQN_I, IQN_T);
    ChapAuthenticator auth = ChapAuthenticatorTest.target();
    ChapInitiator chap = ChapAuthenticatorTest.initiator(List.of(ChapAlgorithm.SHA256, ChapAlgorithm.MD5), true);
    securityStage(ini, chap, tgt, auth);
    assertEquals(ChapAuthenticatorTest.USER, auth.user());
    assertEquals(ChapAlgorithm.SHA256, auth.algorithm());
    assertTrue(auth.mutual());

    List<Pair> request = ini.operationalOffers();
    for (int round = 0; round < 4; round++) {
      Reply reply = tgt.login(Stage.OPERATIONAL, wire(request));
      assertTrue(reply.authenticationKeys().isEmpty());
      request = ini.receive(Stage.OPERATIONAL, wire(reply.pairs()));
      if (request.isEmpty() && tgt.canTransit() && !ini.awaitingAnswers()) break;
    }
    ini.finish();
    tgt.loginComplete();
    assertEquals(tgt.sessionParameters(), ini.sessionParameters());
    assertEquals("CHAP", tgt.authMethod());
  }

  @Test
  void aWrongSecretEndsTheLoginWithAuthenticationFailure() throws Exception {
    TargetNegotiator tgt = new TargetNegotiator(new OperationalOptions().authMethods("CHAP"), 1);
    InitiatorNegotiator ini = new InitiatorNegotiator(new OperationalOptions().authMethods("CHAP"), IQN_I, IQN_T);
    ChapAuthenticator auth = ChapAuthenticatorTest.target();
    ChapInitiator chap = ChapAuthenticatorTest.initiator("wrong-secret-000", List.of(ChapAlgorithm.MD5), false);
    NegotiationException e = assertThrows(NegotiationException.class, () -> securityStage(ini, chap, tgt, auth));
    assertEquals(0x0201, e.status());
    assertFalse(auth.succeeded());
  }

  @Test
  void chapKeysRepeatedAcrossTextsFailInTheNegotiatorOrTheAuthenticator() throws Exception {
    TargetNegotiator tgt = new TargetNegotiator(new OperationalOptions().authMethods("CHAP"), 1);
    ChapAuthenticator auth = ChapAuthenticatorTest.target();
    List<Pair> first = List.of(new Pair("InitiatorName", IQN_I), new Pair("SessionType", "Normal"),
        new Pair("TargetName", IQN_T), new Pair("AuthMethod", "CHAP"));
    targetAnswers(tgt, auth, first);
    targetAnswers(tgt, auth, List.of(new Pair("CHAP_A", "5")));
    NegotiationException e = assertThrows(NegotiationException.class,
        () -> targetAnswers(tgt, auth, List.of(new Pair("CHAP_A", "5"))));
    assertEquals(0x0200, e.status());
  }
}
