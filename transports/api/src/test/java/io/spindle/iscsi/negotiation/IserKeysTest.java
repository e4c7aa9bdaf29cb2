package io.spindle.iscsi.negotiation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.iscsi.text.TextKeys.Pair;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The iSER login keys (RFC 7145 §6) and how they change the other keys. */
class IserKeysTest {

  static final String IQN_I = TargetNegotiatorTest.IQN_I;
  static final String IQN_T = TargetNegotiatorTest.IQN_T;

  private static Map<String, String> map(List<Pair> pairs) {
    Map<String, String> m = new LinkedHashMap<>();
    for (Pair p : pairs) m.put(p.key(), p.value());
    return m;
  }

  private static OperationalOptions iserPortal() {
    return new OperationalOptions().rdmaExtensions(true).targetRecvDataSegmentLength(8192)
        .initiatorRecvDataSegmentLength((1 << 24) - 1);
  }

  /** What Linux ib_iser sends in its first operational Login Request (spec digest F), keys in its order. */
  private static List<Pair> linuxRequest() {
    return List.of(new Pair("InitiatorName", IQN_I), new Pair("SessionType", "Normal"), new Pair("TargetName", IQN_T),
        new Pair("HeaderDigest", "None"), new Pair("DataDigest", "None"),
        new Pair("MaxRecvDataSegmentLength", "262144"), new Pair("TargetRecvDataSegmentLength", "8192"),
        new Pair("InitiatorRecvDataSegmentLength", "262144"), new Pair("RDMAExtensions", "Yes"));
  }

  @Test
  void iserPortalAcceptsLinuxStyleLoginWhereverRdmaExtensionsSits() throws Exception {
    TargetNegotiator t = new TargetNegotiator(iserPortal(), 1);
    Map<String, String> reply = map(t.login(Stage.OPERATIONAL, linuxRequest()).pairs());
    assertEquals("Yes", reply.get("RDMAExtensions"));
    assertEquals("8192", reply.get("TargetRecvDataSegmentLength"));
    assertEquals("262144", reply.get("InitiatorRecvDataSegmentLength"));
    // RFC 7145 §6.1/§6.2: digests and MaxRecvDataSegmentLength do not apply; the target declares none.
    assertEquals("Irrelevant", reply.get("HeaderDigest"));
    assertEquals("Irrelevant", reply.get("DataDigest"));
    assertNull(reply.get("MaxRecvDataSegmentLength"));
    ConnectionParameters c = t.connectionParameters();
    assertTrue(c.rdmaExtensions());
    assertFalse(c.headerDigest());
    assertFalse(c.dataDigest());
    assertEquals(262144, c.initiatorMaxRecvDataSegmentLength());
    assertEquals(8192, c.targetMaxRecvDataSegmentLength());
  }

  @Test
  void targetRecvDataSegmentLengthIsTheMinimum() throws Exception {
    TargetNegotiator t = new TargetNegotiator(iserPortal(), 1);
    Map<String, String> reply = map(t.login(Stage.OPERATIONAL, List.of(new Pair("InitiatorName", IQN_I),
        new Pair("TargetName", IQN_T), new Pair("RDMAExtensions", "Yes"),
        new Pair("TargetRecvDataSegmentLength", "65536"))).pairs());
    assertEquals("8192", reply.get("TargetRecvDataSegmentLength"));
    assertEquals(8192, t.connectionParameters().targetMaxRecvDataSegmentLength());
  }

  @Test
  void tcpPortalSaysNoAndTheIserKeysAreIrrelevant() throws Exception {
    TargetNegotiator t = new TargetNegotiator(new OperationalOptions(), 1);
    Map<String, String> reply = map(t.login(Stage.OPERATIONAL, linuxRequest()).pairs());
    assertEquals("No", reply.get("RDMAExtensions"));
    assertEquals("Irrelevant", reply.get("TargetRecvDataSegmentLength"));
    assertEquals("Irrelevant", reply.get("InitiatorRecvDataSegmentLength"));
    assertEquals("None", reply.get("HeaderDigest"));
    ConnectionParameters c = t.connectionParameters();
    assertFalse(c.rdmaExtensions());
    assertEquals(262144, c.initiatorMaxRecvDataSegmentLength());
  }

  /**
   * What open-iscsi's iscsi_tcp (and libiscsi) send in their operational Login Request (T=1, CSG=1,
   * NSG=3): no RDMAExtensions key at all.
   */
  private static List<Pair> openIscsiTcpOperational() {
    return TargetNegotiatorTest.pairs("HeaderDigest=None", "DataDigest=None", "DefaultTime2Wait=2",
        "DefaultTime2Retain=0", "IFMarker=No", "OFMarker=No", "ErrorRecoveryLevel=0", "InitialR2T=No",
        "ImmediateData=Yes", "MaxBurstLength=16776192", "FirstBurstLength=262144", "MaxOutstandingR2T=1",
        "MaxConnections=1", "DataPDUInOrder=Yes", "DataSequenceInOrder=Yes", "MaxRecvDataSegmentLength=262144");
  }

  /**
   * RFC 7145 §6.3: the target answers RDMAExtensions, it does not initiate it. A login that never
   * offers the key runs on an iSER portal exactly as on a TCP portal: the same answers, the
   * target's MaxRecvDataSegmentLength declared, and the transit granted in the same round (an
   * unanswered offer of Yes used to hold it until open-iscsi gave up after 32 rounds).
   */
  @Test
  void loginWithoutRdmaExtensionsRunsOnAnIserPortalAsOnATcpPortal() throws Exception {
    TargetNegotiator iser = new TargetNegotiator(iserPortal(), 1);
    TargetNegotiator tcp = new TargetNegotiator(new OperationalOptions(), 1);
    for (TargetNegotiator t : List.of(iser, tcp)) {
      t.login(Stage.SECURITY, TargetNegotiatorTest.normalStart("AuthMethod=None"));
    }
    Map<String, String> onIser = map(iser.login(Stage.OPERATIONAL, openIscsiTcpOperational()).pairs());
    Map<String, String> onTcp = map(tcp.login(Stage.OPERATIONAL, openIscsiTcpOperational()).pairs());
    assertEquals(onTcp, onIser);
    assertNull(onIser.get("RDMAExtensions"));
    assertEquals(new OperationalOptions().snapshot().get(Key.MAX_RECV_DATA_SEGMENT_LENGTH),
        onIser.get("MaxRecvDataSegmentLength"));
    assertTrue(iser.canTransit(), "the initiator's T=1 must be granted in this round");
    ConnectionParameters c = iser.connectionParameters();
    assertFalse(c.rdmaExtensions());
    assertEquals(262144, c.initiatorMaxRecvDataSegmentLength());
    assertEquals(tcp.connectionParameters(), c);
    assertFalse(iser.sessionParameters().rdmaExtensions());
  }

  @Test
  void maxOutstandingUnexpectedPdusIsDeclaredAndOneIsIllegal() throws Exception {
    assertThrows(IllegalArgumentException.class, () -> new OperationalOptions().maxOutstandingUnexpectedPdus(1));
    TargetNegotiator t = new TargetNegotiator(iserPortal().maxOutstandingUnexpectedPdus(64), 1);
    Map<String, String> reply = map(t.login(Stage.OPERATIONAL, List.of(new Pair("InitiatorName", IQN_I),
        new Pair("TargetName", IQN_T), new Pair("RDMAExtensions", "Yes"),
        new Pair("MaxOutstandingUnexpectedPDUs", "32"))).pairs());
    assertEquals("64", reply.get("MaxOutstandingUnexpectedPDUs"));
    assertEquals(32, t.initiatorMaxOutstandingUnexpectedPdus());
    TargetNegotiator bad = new TargetNegotiator(iserPortal(), 1);
    assertThrows(NegotiationException.class, () -> bad.login(Stage.OPERATIONAL, List.of(
        new Pair("InitiatorName", IQN_I), new Pair("TargetName", IQN_T), new Pair("RDMAExtensions", "Yes"),
        new Pair("MaxOutstandingUnexpectedPDUs", "1"))));
  }

  @Test
  void projectInitiatorAndIserPortalAgree() throws Exception {
    OperationalOptions mine = new OperationalOptions().rdmaExtensions(true).initiatorRecvDataSegmentLength(16384)
        .targetRecvDataSegmentLength((1 << 24) - 1).headerDigest("CRC32C,None");
    InitiatorNegotiator ini = new InitiatorNegotiator(mine, IQN_I, null, IQN_T, NegotiationLimits.DEFAULT);
    List<Pair> first = ini.start(Stage.OPERATIONAL);
    Map<String, String> offered = map(first);
    assertEquals("Yes", offered.get("RDMAExtensions"));
    assertNull(offered.get("HeaderDigest"), "digests are irrelevant in iSER-assisted mode");
    assertNull(offered.get("MaxRecvDataSegmentLength"));
    assertEquals("16384", offered.get("InitiatorRecvDataSegmentLength"));
    TargetNegotiator tgt = new TargetNegotiator(iserPortal(), 1);
    Reply reply = tgt.login(Stage.OPERATIONAL, LoginExchangeTest.wire(first));
    assertTrue(ini.receive(Stage.OPERATIONAL, LoginExchangeTest.wire(reply.pairs())).isEmpty());
    ini.finish();
    assertTrue(tgt.canTransit());
    ConnectionParameters ci = ini.connectionParameters();
    ConnectionParameters ct = tgt.connectionParameters();
    assertEquals(ct, ci);
    assertTrue(ci.rdmaExtensions());
    assertEquals(16384, ci.initiatorMaxRecvDataSegmentLength());
    assertEquals(8192, ci.targetMaxRecvDataSegmentLength());
  }

  /**
   * RFC 7145 §6.3: RDMAExtensions is leading-only, so a further connection of the session is in
   * iSER-assisted mode without negotiating it again: neither side offers it or the other leading-only
   * keys, and both settle on the iSER keys instead of digests and MaxRecvDataSegmentLength.
   */
  @Test
  void furtherConnectionTakesTheSessionsRdmaExtensions() throws Exception {
    OperationalOptions mine = new OperationalOptions().rdmaExtensions(true).initiatorRecvDataSegmentLength(16384)
        .targetRecvDataSegmentLength((1 << 24) - 1).maxConnections(2);
    InitiatorNegotiator lead = new InitiatorNegotiator(mine, IQN_I, null, IQN_T, NegotiationLimits.DEFAULT);
    TargetNegotiator leadTarget = new TargetNegotiator(iserPortal().maxConnections(2), 1);
    Reply first = leadTarget.login(Stage.OPERATIONAL, LoginExchangeTest.wire(lead.start(Stage.OPERATIONAL)));
    lead.receive(Stage.OPERATIONAL, LoginExchangeTest.wire(first.pairs()));
    SessionParameters session = leadTarget.sessionParameters();
    assertTrue(session.rdmaExtensions());

    InitiatorNegotiator ini = new InitiatorNegotiator(mine, IQN_I, null, IQN_T, NegotiationLimits.DEFAULT)
        .furtherConnection(true);
    List<Pair> offers = ini.start(Stage.OPERATIONAL);
    Map<String, String> offered = map(offers);
    assertNull(offered.get("RDMAExtensions"), "leading-only");
    assertNull(offered.get("MaxConnections"), "leading-only");
    assertNull(offered.get("HeaderDigest"), "irrelevant in iSER-assisted mode");
    assertNull(offered.get("MaxRecvDataSegmentLength"));
    assertEquals("16384", offered.get("InitiatorRecvDataSegmentLength"));
    TargetNegotiator tgt = new TargetNegotiator(iserPortal(), 1, session, NegotiationLimits.DEFAULT);
    Reply reply = tgt.login(Stage.OPERATIONAL, LoginExchangeTest.wire(offers));
    assertNull(map(reply.pairs()).get("MaxRecvDataSegmentLength"), "not declared in iSER-assisted mode");
    assertTrue(ini.receive(Stage.OPERATIONAL, LoginExchangeTest.wire(reply.pairs())).isEmpty());
    assertTrue(tgt.canTransit());
    ConnectionParameters ct = tgt.connectionParameters();
    assertEquals(ct, ini.connectionParameters());
    assertTrue(ct.rdmaExtensions());
    assertEquals(16384, ct.initiatorMaxRecvDataSegmentLength());

    // An iSCSI/TCP session's further connection stays iSCSI/TCP.
    TargetNegotiator tcp = new TargetNegotiator(iserPortal(), 1,
        new TargetNegotiator(new OperationalOptions(), 1).sessionParameters(), NegotiationLimits.DEFAULT);
    tcp.login(Stage.OPERATIONAL, LoginExchangeTest.wire(List.of(new Pair("InitiatorName", IQN_I),
        new Pair("TargetName", IQN_T), new Pair("RDMAExtensions", "Yes"))));
    assertFalse(tcp.connectionParameters().rdmaExtensions());
  }
}
