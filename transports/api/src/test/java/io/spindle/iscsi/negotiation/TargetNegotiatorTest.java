package io.spindle.iscsi.negotiation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.iscsi.text.TextKeys.Pair;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TargetNegotiatorTest {

  static final String IQN_I = "iqn.2024-01.io.spindle:initiator";
  static final String IQN_T = "iqn.2024-01.io.spindle:disk1";

  static List<Pair> pairs(String... kv) {
    List<Pair> out = new ArrayList<>();
    for (String s : kv) {
      int eq = s.indexOf('=');
      out.add(new Pair(s.substring(0, eq), s.substring(eq + 1)));
    }
    return out;
  }

  static Map<String, String> map(Reply r) {
    Map<String, String> m = new LinkedHashMap<>();
    for (Pair p : r.pairs()) {
      if (m.put(p.key(), p.value()) != null) throw new AssertionError("key twice in reply: " + p.key());
    }
    return m;
  }

  static List<Pair> normalStart(String... more) {
    List<Pair> l = pairs("InitiatorName=" + IQN_I, "SessionType=Normal", "TargetName=" + IQN_T);
    l.addAll(pairs(more));
    return l;
  }

  private TargetNegotiator target(OperationalOptions o) {
    return new TargetNegotiator(o, 7);
  }

  @Test
  void firstResponseCarriesPortalGroupTagOnNormalSessions() throws Exception {
    TargetNegotiator t = target(new OperationalOptions());
    Map<String, String> m = map(t.login(Stage.SECURITY, normalStart("AuthMethod=CHAP,None")));
    assertEquals("None", m.get("AuthMethod"));
    assertEquals("7", m.get("TargetPortalGroupTag"));
    assertEquals(IQN_T, t.targetName());
    assertEquals(IQN_I, t.initiatorName());
    // not again in the next response
    assertNull(map(t.login(Stage.OPERATIONAL, pairs("MaxBurstLength=65536"))).get("TargetPortalGroupTag"));
  }

  @Test
  void authMethodChoosesFirstOfInitiatorsListAndChapKeysGoToAuthenticator() throws Exception {
    TargetNegotiator t = target(new OperationalOptions().authMethods("None,CHAP"));
    Map<String, String> m = map(t.login(Stage.SECURITY, normalStart("AuthMethod=CHAP,None")));
    assertEquals("CHAP", m.get("AuthMethod"));
    assertEquals("CHAP", t.authMethod());
    Reply r = t.login(Stage.SECURITY, pairs("CHAP_A=5"));
    assertTrue(r.pairs().isEmpty());
    assertEquals(pairs("CHAP_A=5"), r.authenticationKeys());
  }

  @Test
  void missingNamesAreMissingParameter() {
    NegotiationException e = assertThrows(NegotiationException.class,
        () -> target(new OperationalOptions()).login(Stage.SECURITY, pairs("TargetName=" + IQN_T)));
    assertEquals(NegotiationException.MISSING_PARAMETER, e.status());
    e = assertThrows(NegotiationException.class,
        () -> target(new OperationalOptions()).login(Stage.SECURITY, pairs("InitiatorName=" + IQN_I)));
    assertEquals(0x02, e.statusClass());
    assertEquals(0x07, e.statusDetail());
    e = assertThrows(NegotiationException.class, () -> target(new OperationalOptions())
        .login(Stage.SECURITY, pairs("InitiatorName=" + IQN_I, "SessionType=Bogus")));
    assertEquals(NegotiationException.SESSION_TYPE_NOT_SUPPORTED, e.status());
  }

  @Test
  void keySentTwiceFailsTheLoginWithInitiatorError() throws Exception {
    TargetNegotiator t = target(new OperationalOptions());
    NegotiationException e = assertThrows(NegotiationException.class,
        () -> t.login(Stage.OPERATIONAL, normalStart("MaxBurstLength=65536", "MaxBurstLength=4096")));
    assertEquals(NegotiationException.INITIATOR_ERROR, e.status());

    // also across requests of one login
    TargetNegotiator t2 = target(new OperationalOptions());
    t2.login(Stage.OPERATIONAL, normalStart("ImmediateData=Yes"));
    assertThrows(NegotiationException.class, () -> t2.login(Stage.OPERATIONAL, pairs("ImmediateData=No")));
  }

  @Test
  void keysInTheWrongStageFailTheLogin() throws Exception {
    NegotiationException e = assertThrows(NegotiationException.class,
        () -> target(new OperationalOptions()).login(Stage.SECURITY, normalStart("MaxBurstLength=4096")));
    assertEquals(NegotiationException.INITIATOR_ERROR, e.status());
    assertThrows(NegotiationException.class,
        () -> target(new OperationalOptions()).login(Stage.OPERATIONAL, normalStart("AuthMethod=None")));
    assertThrows(NegotiationException.class,
        () -> target(new OperationalOptions()).login(Stage.OPERATIONAL, normalStart("SendTargets=All")));
    // a key only the target sends
    assertThrows(NegotiationException.class,
        () -> target(new OperationalOptions()).login(Stage.OPERATIONAL, normalStart("TargetPortalGroupTag=1")));
    // SessionType after the first request
    TargetNegotiator t = target(new OperationalOptions());
    t.login(Stage.SECURITY, pairs("InitiatorName=" + IQN_I, "TargetName=" + IQN_T, "AuthMethod=None"));
    assertThrows(NegotiationException.class, () -> t.login(Stage.OPERATIONAL, pairs("SessionType=Discovery")));
  }

  @Test
  void unknownAndPrivateKeysAreNotUnderstoodObsoleteKeysRejected() throws Exception {
    Map<String, String> m = map(target(new OperationalOptions()).login(Stage.OPERATIONAL,
        normalStart("X-com.example.Foo=1", "X#Bar=2", "Unheard=3", "OFMarker=No", "IFMarker=Yes",
            "OFMarkInt=2048~8192", "IFMarkInt=1~2", "X#NodeArchitecture=Linux")));
    assertEquals("NotUnderstood", m.get("X-com.example.Foo"));
    assertEquals("NotUnderstood", m.get("X#Bar"));
    assertEquals("NotUnderstood", m.get("Unheard"));
    assertEquals("Reject", m.get("OFMarker"));
    assertEquals("Reject", m.get("IFMarker"));
    assertEquals("Reject", m.get("OFMarkInt"));
    assertEquals("Reject", m.get("IFMarkInt"));
    assertFalse(m.containsKey("X#NodeArchitecture"), "declarative keys get no answer");
  }

  @Test
  void illegalValuesAreRejectedAndLeaveTheDefault() throws Exception {
    TargetNegotiator t = target(new OperationalOptions().errorRecoveryLevel(2));
    Map<String, String> m = map(t.login(Stage.OPERATIONAL, normalStart("ErrorRecoveryLevel=3",
        "MaxBurstLength=16777216", "ImmediateData=Maybe", "MaxOutstandingR2T=0", "DefaultTime2Wait=3601",
        "HeaderDigest=,")));
    assertEquals("Reject", m.get("ErrorRecoveryLevel"));
    assertEquals("Reject", m.get("MaxBurstLength"));
    assertEquals("Reject", m.get("ImmediateData"));
    assertEquals("Reject", m.get("MaxOutstandingR2T"));
    assertEquals("Reject", m.get("DefaultTime2Wait"));
    assertEquals("Reject", m.get("HeaderDigest"));
    SessionParameters s = t.sessionParameters();
    assertEquals(0, s.errorRecoveryLevel());
    assertEquals(262144, s.maxBurstLength());
    assertEquals(1, s.maxOutstandingR2T());
  }

  @Test
  void errorRecoveryLevelIsTheMinimum() throws Exception {
    TargetNegotiator t = target(new OperationalOptions().errorRecoveryLevel(1));
    assertEquals("1", map(t.login(Stage.OPERATIONAL, normalStart("ErrorRecoveryLevel=2"))).get("ErrorRecoveryLevel"));
    assertEquals(1, t.sessionParameters().errorRecoveryLevel());
  }

  @Test
  void maxRecvDataSegmentLengthEdges() throws Exception {
    for (String bad : new String[] {"511", "16777216", "0x1000000", "abc"}) {
      NegotiationException e = assertThrows(NegotiationException.class, () -> target(new OperationalOptions())
          .login(Stage.OPERATIONAL, normalStart("MaxRecvDataSegmentLength=" + bad)), bad);
      assertEquals(NegotiationException.INITIATOR_ERROR, e.status());
    }
    for (int good : new int[] {512, 16777215}) {
      TargetNegotiator t = target(new OperationalOptions().maxRecvDataSegmentLength(65536));
      Map<String, String> m = map(t.login(Stage.OPERATIONAL, normalStart("MaxRecvDataSegmentLength=" + good)));
      // declarative: no answer, but the target declares its own value
      assertEquals("65536", m.get("MaxRecvDataSegmentLength"));
      ConnectionParameters c = t.connectionParameters();
      assertEquals(good, c.initiatorMaxRecvDataSegmentLength());
      assertEquals(65536, c.targetMaxRecvDataSegmentLength());
    }
    assertThrows(IllegalArgumentException.class, () -> new OperationalOptions().maxRecvDataSegmentLength(511));
    assertThrows(IllegalArgumentException.class, () -> new OperationalOptions().maxRecvDataSegmentLength(16777216));
  }

  @Test
  void firstBurstLengthIsClampedToMaxBurstLength() throws Exception {
    TargetNegotiator t = target(new OperationalOptions());
    Map<String, String> m = map(t.login(Stage.OPERATIONAL,
        normalStart("FirstBurstLength=65536", "MaxBurstLength=16384", "InitialR2T=No")));
    assertEquals("16384", m.get("MaxBurstLength"));
    assertEquals("16384", m.get("FirstBurstLength"));
    assertEquals(16384, t.sessionParameters().firstBurstLength());
    assertThrows(IllegalArgumentException.class,
        () -> new TargetNegotiator(new OperationalOptions().maxBurstLength(4096), 1));
  }

  @Test
  void firstBurstLengthIrrelevantWithInitialR2tAndNoImmediateData() throws Exception {
    TargetNegotiator t = target(new OperationalOptions());
    Map<String, String> m = map(t.login(Stage.OPERATIONAL,
        normalStart("FirstBurstLength=4096", "InitialR2T=Yes", "ImmediateData=No")));
    assertEquals("Irrelevant", m.get("FirstBurstLength"));
    assertEquals("Yes", m.get("InitialR2T"));
    assertEquals("No", m.get("ImmediateData"));
    assertEquals(65536, t.sessionParameters().firstBurstLength());
  }

  @Test
  void discoverySessionAnswersSessionKeysIrrelevant() throws Exception {
    TargetNegotiator t = target(new OperationalOptions().maxRecvDataSegmentLength(8192));
    Map<String, String> m = map(t.login(Stage.OPERATIONAL, pairs("InitiatorName=" + IQN_I,
        "SessionType=Discovery", "HeaderDigest=None", "MaxBurstLength=4096", "InitialR2T=No",
        "MaxConnections=4", "iSCSIProtocolLevel=1", "ErrorRecoveryLevel=0", "DefaultTime2Wait=2")));
    assertEquals("Irrelevant", m.get("MaxBurstLength"));
    assertEquals("Irrelevant", m.get("InitialR2T"));
    assertEquals("Irrelevant", m.get("MaxConnections"));
    assertEquals("Irrelevant", m.get("iSCSIProtocolLevel"));
    assertEquals("0", m.get("ErrorRecoveryLevel"));
    assertEquals("2", m.get("DefaultTime2Wait"));
    assertEquals("None", m.get("HeaderDigest"));
    assertFalse(m.containsKey("TargetPortalGroupTag"), "no TPGT without TargetName");
    assertTrue(t.discovery());
    assertNull(t.targetName());
    assertEquals(262144, t.sessionParameters().maxBurstLength());
    assertTrue(t.sessionParameters().discovery());
  }

  @Test
  void digestSelection() throws Exception {
    TargetNegotiator t = target(new OperationalOptions());
    Map<String, String> m = map(t.login(Stage.OPERATIONAL,
        normalStart("HeaderDigest=CRC32C,None", "DataDigest=None,CRC32C")));
    assertEquals("CRC32C", m.get("HeaderDigest"));
    assertEquals("None", m.get("DataDigest"));
    assertTrue(t.connectionParameters().headerDigest());
    assertFalse(t.connectionParameters().dataDigest());

    TargetNegotiator noDigest = target(new OperationalOptions().headerDigest("None"));
    assertEquals("Reject", map(noDigest.login(Stage.OPERATIONAL, normalStart("HeaderDigest=CRC32C")))
        .get("HeaderDigest"));
    assertFalse(noDigest.connectionParameters().headerDigest());
  }

  @Test
  void targetOffersWhatItNeedsAndWaitsForTheAnswer() throws Exception {
    OperationalOptions o = new OperationalOptions().maxBurstLength(65536).firstBurstLength(16384)
        .immediateData(false).headerDigest("CRC32C");
    TargetNegotiator t = target(o);
    assertTrue(t.needsOperationalStage());
    Map<String, String> m = map(t.login(Stage.OPERATIONAL, normalStart("DataDigest=None")));
    assertEquals("65536", m.get("MaxBurstLength"));
    // InitialR2T=Yes (default) and ImmediateData=No make FirstBurstLength irrelevant (RFC 7143 §13.14)
    assertNull(m.get("FirstBurstLength"));
    assertEquals("No", m.get("ImmediateData"));
    assertEquals("CRC32C", m.get("HeaderDigest"));
    assertFalse(m.containsKey("DataDigest") && !"None".equals(m.get("DataDigest")));
    assertFalse(t.canTransit());
    // an answer above the offered minimum is a protocol error
    TargetNegotiator t2 = target(o);
    t2.login(Stage.OPERATIONAL, normalStart());
    assertThrows(NegotiationException.class, () -> t2.login(Stage.OPERATIONAL, pairs("MaxBurstLength=262144")));

    Reply r = t.login(Stage.OPERATIONAL, pairs("MaxBurstLength=32768", "HeaderDigest=CRC32C"));
    assertTrue(r.pairs().isEmpty(), "answers are not answered");
    assertTrue(t.canTransit(), "ImmediateData=No needs no answer (AND)");
    SessionParameters s = t.sessionParameters();
    assertEquals(32768, s.maxBurstLength());
    assertEquals(32768, s.firstBurstLength(), "never above MaxBurstLength");
    assertFalse(s.immediateData());
    assertTrue(t.connectionParameters().headerDigest());
  }

  @Test
  void leadingOnlyKeysOnAnotherConnectionAreIrrelevant() throws Exception {
    TargetNegotiator lead = target(new OperationalOptions().maxConnections(4));
    lead.login(Stage.OPERATIONAL, normalStart("MaxConnections=4", "MaxBurstLength=65536"));
    SessionParameters s = lead.sessionParameters();
    assertEquals(4, s.maxConnections());
    TargetNegotiator second = new TargetNegotiator(new OperationalOptions(), 7, s, NegotiationLimits.DEFAULT);
    Map<String, String> m = map(second.login(Stage.OPERATIONAL,
        normalStart("MaxBurstLength=4096", "HeaderDigest=CRC32C,None")));
    assertEquals("Irrelevant", m.get("MaxBurstLength"));
    assertEquals("CRC32C", m.get("HeaderDigest"));
    assertEquals(65536, second.sessionParameters().maxBurstLength());
  }

  @Test
  void textNegotiationInFullFeaturePhase() throws Exception {
    TargetNegotiator t = target(new OperationalOptions());
    t.login(Stage.OPERATIONAL, normalStart("MaxRecvDataSegmentLength=8192"));
    t.loginComplete();
    Reply r = t.text(pairs("SendTargets=All", "MaxRecvDataSegmentLength=65536", "MaxBurstLength=512",
        "X-vendor=1"));
    assertEquals("All", r.sendTargets());
    Map<String, String> m = map(r);
    assertEquals("Reject", m.get("MaxBurstLength"), "LO key in Full Feature Phase");
    assertEquals("NotUnderstood", m.get("X-vendor"));
    assertEquals(65536, t.connectionParameters().initiatorMaxRecvDataSegmentLength());
    // a new Text negotiation may send the same key again
    t.text(pairs("MaxRecvDataSegmentLength=16384"));
    assertEquals(16384, t.connectionParameters().initiatorMaxRecvDataSegmentLength());
    assertThrows(NegotiationException.class, () -> t.text(pairs("SendTargets=All", "SendTargets=All")));
  }

  @Test
  void limitsOnKeysAndBytes() {
    NegotiationLimits small = new NegotiationLimits(4, 256);
    List<Pair> many = normalStart("X-a=1", "X-b=2");
    assertThrows(NegotiationException.class,
        () -> new TargetNegotiator(new OperationalOptions(), 1, null, small).login(Stage.SECURITY, many));
    List<Pair> long1 = normalStart();
    long1.add(new Pair("InitiatorAlias", "a".repeat(250)));
    assertThrows(NegotiationException.class,
        () -> new TargetNegotiator(new OperationalOptions(), 1, null, small).login(Stage.SECURITY, long1));
  }
}
