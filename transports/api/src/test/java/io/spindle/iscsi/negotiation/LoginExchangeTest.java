package io.spindle.iscsi.negotiation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.spindle.iscsi.text.TextKeys;
import io.spindle.iscsi.text.TextKeys.Pair;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Whole logins between the project's two negotiators, through the text codec. */
class LoginExchangeTest {

  static final String IQN_I = TargetNegotiatorTest.IQN_I;
  static final String IQN_T = TargetNegotiatorTest.IQN_T;

  /** Sends pairs over the wire format and back, as the server would see them. */
  static List<Pair> wire(List<Pair> pairs) throws Exception {
    ByteBuf b = TextKeys.encode(pairs);
    try {
      return TextKeys.parse(b);
    } finally {
      b.release();
    }
  }

  private static void login(InitiatorNegotiator ini, TargetNegotiator tgt) throws Exception {
    List<Pair> request = ini.start(Stage.SECURITY);
    Reply reply = tgt.login(Stage.SECURITY, wire(request));
    List<Pair> next = ini.receive(Stage.SECURITY, wire(reply.pairs()));
    assertTrue(next.isEmpty());
    assertEquals("None", ini.authMethod());
    // security -> operational: the initiator's offers; loop until both sides are done
    request = ini.operationalOffers();
    for (int round = 0; round < 4; round++) {
      reply = tgt.login(Stage.OPERATIONAL, wire(request));
      request = ini.receive(Stage.OPERATIONAL, wire(reply.pairs()));
      if (request.isEmpty() && tgt.canTransit() && !ini.awaitingAnswers()) break;
    }
    assertTrue(tgt.canTransit());
    ini.finish();
    tgt.loginComplete();
  }

  @Test
  void bothSidesAgreeOnTheSameParameters() throws Exception {
    OperationalOptions want = new OperationalOptions().headerDigest("CRC32C,None").dataDigest("CRC32C,None")
        .maxBurstLength(1048576).firstBurstLength(262144).maxOutstandingR2T(8).errorRecoveryLevel(2)
        .initialR2T(false).immediateData(true).maxConnections(8).maxRecvDataSegmentLength(131072)
        .defaultTime2Wait(1).defaultTime2Retain(30).protocolLevel(2);
    OperationalOptions can = new OperationalOptions().maxBurstLength(524288).firstBurstLength(131072)
        .maxOutstandingR2T(4).errorRecoveryLevel(1).maxConnections(2).maxRecvDataSegmentLength(65536)
        .defaultTime2Wait(3).defaultTime2Retain(10).protocolLevel(1).dataDigest("None");
    InitiatorNegotiator ini = new InitiatorNegotiator(want, IQN_I, "host1", IQN_T, NegotiationLimits.DEFAULT);
    TargetNegotiator tgt = new TargetNegotiator(can, 3);
    login(ini, tgt);

    SessionParameters s = tgt.sessionParameters();
    assertEquals(s, ini.sessionParameters());
    assertEquals(2, s.maxConnections());
    assertFalse(s.initialR2T());
    assertTrue(s.immediateData());
    assertEquals(524288, s.maxBurstLength());
    assertEquals(131072, s.firstBurstLength());
    assertEquals(3, s.defaultTime2Wait());
    assertEquals(10, s.defaultTime2Retain());
    assertEquals(4, s.maxOutstandingR2T());
    assertEquals(1, s.errorRecoveryLevel());
    assertEquals(1, s.protocolLevel());
    assertEquals(3, s.targetPortalGroupTag());
    assertEquals(IQN_I, s.initiatorName());
    assertEquals("host1", s.initiatorAlias());
    assertEquals(IQN_T, s.targetName());
    assertEquals(3, ini.targetPortalGroupTag());

    ConnectionParameters c = tgt.connectionParameters();
    assertEquals(c, ini.connectionParameters());
    assertTrue(c.headerDigest());
    assertFalse(c.dataDigest());
    assertEquals(131072, c.initiatorMaxRecvDataSegmentLength());
    assertEquals(65536, c.targetMaxRecvDataSegmentLength());
  }

  @Test
  void initiatorAnswersTheTargetsOffers() throws Exception {
    OperationalOptions can = new OperationalOptions().maxBurstLength(65536).firstBurstLength(8192)
        .immediateData(false).initialR2T(true).headerDigest("CRC32C");
    // the initiator asks for nothing special: the target must offer its limits itself
    InitiatorNegotiator ini = new InitiatorNegotiator(new OperationalOptions(), IQN_I, IQN_T);
    TargetNegotiator tgt = new TargetNegotiator(can, 1);
    login(ini, tgt);
    SessionParameters s = tgt.sessionParameters();
    assertEquals(s, ini.sessionParameters());
    assertEquals(65536, s.maxBurstLength());
    assertFalse(s.immediateData());
    assertTrue(s.initialR2T());
    assertEquals(tgt.connectionParameters(), ini.connectionParameters());
    assertTrue(tgt.connectionParameters().headerDigest());
  }

  @Test
  void discoveryLogin() throws Exception {
    InitiatorNegotiator ini = new InitiatorNegotiator(new OperationalOptions(), IQN_I, null);
    TargetNegotiator tgt = new TargetNegotiator(new OperationalOptions(), 1);
    login(ini, tgt);
    assertTrue(tgt.discovery());
    assertEquals(tgt.sessionParameters(), ini.sessionParameters());
    assertEquals(-1, ini.targetPortalGroupTag());
    Reply r = tgt.text(wire(List.of(new Pair("SendTargets", "All"))));
    assertEquals("All", r.sendTargets());
  }

  @Test
  void initiatorDropsTheConnectionOnIllegalAnswers() throws Exception {
    InitiatorNegotiator ini = new InitiatorNegotiator(new OperationalOptions().maxBurstLength(65536), IQN_I, IQN_T);
    ini.start(Stage.OPERATIONAL);
    assertThrows(NegotiationException.class,
        () -> ini.receive(Stage.OPERATIONAL, List.of(new Pair("MaxBurstLength", "131072"))));
    InitiatorNegotiator ini2 = new InitiatorNegotiator(new OperationalOptions().headerDigest("None"), IQN_I, IQN_T);
    ini2.start(Stage.OPERATIONAL);
    assertThrows(NegotiationException.class,
        () -> ini2.receive(Stage.OPERATIONAL, List.of(new Pair("HeaderDigest", "CRC32C"))));
    InitiatorNegotiator ini3 = new InitiatorNegotiator(new OperationalOptions(), IQN_I, IQN_T);
    ini3.start(Stage.OPERATIONAL);
    assertTrue(ini3.awaitingAnswers());
    assertThrows(NegotiationException.class, ini3::finish);
  }

  @Test
  void rejectedOfferKeepsTheDefault() throws Exception {
    InitiatorNegotiator ini = new InitiatorNegotiator(new OperationalOptions().maxBurstLength(65536), IQN_I, IQN_T);
    ini.start(Stage.OPERATIONAL);
    ini.receive(Stage.OPERATIONAL, List.of(new Pair("MaxBurstLength", "Reject")));
    assertEquals(262144, ini.sessionParameters().maxBurstLength());
  }
}
