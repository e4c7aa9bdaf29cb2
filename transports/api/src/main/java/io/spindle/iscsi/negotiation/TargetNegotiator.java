package io.spindle.iscsi.negotiation;

import io.spindle.iscsi.text.TextKeys.Pair;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The target's side of the key negotiation of one connection: the login (RFC 7143 §6.3) and,
 * after it, Text negotiations in Full Feature Phase (RFC 7143 §6.2). Pure logic, confined to
 * the connection's context.
 *
 * <p>How the server uses it: create one per connection; for each complete login text (the
 * data of all PDUs of a C-bit sequence, parsed with {@code TextKeys.parse}) call
 * {@link #login(Stage, List)} with the request's CSG and send {@link Reply#pairs()} back. On
 * {@link NegotiationException} send a Login Response with {@link NegotiationException#status()}
 * and close. Authentication keys go to the authenticator, which appends its own. Grant the
 * initiator's T bit only when {@link #canTransit()}; before answering a transit from the security
 * stage straight to Full Feature Phase, check {@link #needsOperationalStage()} and, if it is
 * true, transit to the operational stage instead. When the login ends, configure the codec and
 * session from {@link #connectionParameters()} and {@link #sessionParameters()}.
 */
public final class TargetNegotiator {

  private final Negotiation n;
  private final int portalGroupTag;
  private final SessionParameters existingSession;
  private final List<Pair> queued = new ArrayList<>();
  private boolean firstText = true;
  private boolean operationalSent;
  private boolean loginDone;

  /** A negotiator for a new session's leading connection. */
  public TargetNegotiator(OperationalOptions options, int portalGroupTag) {
    this(options, portalGroupTag, null, NegotiationLimits.DEFAULT);
  }

  /**
   * @param options         the target's limits and preferences
   * @param portalGroupTag  the tag of the portal group that accepted the connection (RFC 7143 §13.9)
   * @param existingSession for a connection added to an existing session, that session's parameters;
   *                        null for a leading connection
   */
  public TargetNegotiator(OperationalOptions options, int portalGroupTag, SessionParameters existingSession,
      NegotiationLimits limits) {
    if (portalGroupTag < 0 || portalGroupTag > 65535) {
      throw new IllegalArgumentException("portal group tag " + portalGroupTag + " is outside 0..65535");
    }
    this.n = new Negotiation(true, options.snapshot(), limits);
    this.portalGroupTag = portalGroupTag;
    this.existingSession = existingSession;
    if (existingSession != null) {
      n.leading = false;
      n.discovery = existingSession.discovery();
      n.preload(existingSession.negotiatedValues());
    }
  }

  /** Queues a declaration (e.g. TargetAlias once the target is known) for the next reply. */
  public void declare(Key key, String value) {
    if (key.result != Key.Result.DECLARATIVE || !key.sentBy(true) || !Values.valid(key, value)) {
      throw new IllegalArgumentException(key + "=" + value + " is not a target declaration");
    }
    queued.add(new Pair(key.wireName, value));
  }

  /**
   * Answers one complete login text of the initiator.
   *
   * @param stage the request's current stage (CSG): security or operational
   */
  public Reply login(Stage stage, List<Pair> request) throws NegotiationException {
    if (stage != Stage.SECURITY && stage != Stage.OPERATIONAL) {
      throw Negotiation.error("login request in stage " + stage);
    }
    if (loginDone) throw new IllegalStateException("login already finished");
    boolean first = firstText;
    firstText = false;
    if (first) {
      checkFirstRequest(request);
    } else {
      for (Pair p : request) {
        if (p.key().equals(Key.SESSION_TYPE.wireName)) {
          // RFC 7143 §6.3.1 (and §13.21): the session type is declared in the first Login Request.
          throw Negotiation.error("SessionType after the first Login Request");
        }
      }
    }
    Negotiation.Processed p = n.process(stage, request);
    List<Pair> out = new ArrayList<>(p.answers);
    if (first && !n.discovery && existingSession == null) {
      // RFC 7143 §13.9: returned in the response to the first Login Request when TargetName is given.
      out.add(new Pair(Key.TARGET_PORTAL_GROUP_TAG.wireName, Integer.toString(portalGroupTag)));
    }
    if (stage == Stage.OPERATIONAL && !operationalSent) {
      operationalSent = true;
      out.addAll(ownOperationalKeys(true));
    }
    out.addAll(queued);
    queued.clear();
    return new Reply(out, p.authentication, p.sendTargets);
  }

  /** True when no offer of the target waits for an answer, so the target may set the T bit. */
  public boolean canTransit() {
    return !n.awaitingAnswers();
  }

  /**
   * True if the target still has keys to declare or offer (its MaxRecvDataSegmentLength, or limits
   * tighter than the defaults), so a transit from security straight to Full Feature Phase should be
   * answered with NSG = operational.
   */
  public boolean needsOperationalStage() {
    return !operationalSent && !ownOperationalKeys(false).isEmpty();
  }

  /** Marks the login as finished (after the final Login Response); Text negotiations may follow. */
  public void loginComplete() {
    loginDone = true;
  }

  /**
   * Answers one complete Text request sequence in Full Feature Phase (RFC 7143 §6.2, §11.10).
   * Keys allowed only at login are answered Reject; a SendTargets inquiry is returned in the reply
   * for the server to answer with target records.
   */
  public Reply text(List<Pair> request) throws NegotiationException {
    n.restart();
    Negotiation.Processed p = n.process(Stage.FULL_FEATURE, request);
    return new Reply(p.answers, p.authentication, p.sendTargets);
  }

  /** RFC 7143 §13.12: the target declares what it can receive; until then 8192 holds. */
  private Pair declareMaxRecv() {
    String mrdsl = n.local(Key.MAX_RECV_DATA_SEGMENT_LENGTH);
    n.ownMaxRecv = (int) Values.parseNumber(mrdsl);
    return new Pair(Key.MAX_RECV_DATA_SEGMENT_LENGTH.wireName, mrdsl);
  }

  /** The target's declaration and the offers it must make (RFC 7143 §6.3), computed when {@code record}. */
  private List<Pair> ownOperationalKeys(boolean record) {
    List<Pair> out = new ArrayList<>();
    // RDMAExtensions is never offered by the target itself, only answered. RFC 7145 §6.3: the
    // initiator that wants iSER-assisted mode offers the key in its first operational Login
    // Request, and a node "is not required to initiate the RDMAExtensions key exchange" when it
    // would run traditional iSCSI. An initiator that did not send it is a plain iSCSI/TCP one
    // (open-iscsi's iscsi_tcp, libiscsi) that would not answer an offer either: it sends T=1
    // requests without the answer, and an unanswered AND offer of Yes would hold the transit
    // forever (RFC 7143 §6.2). So such a login runs exactly as on a TCP portal.
    String moup = n.local(Key.MAX_OUTSTANDING_UNEXPECTED_PDUS);
    if (n.rdmaExtensions() && n.leading && Values.parseNumber(moup) != 0) {
      // RFC 7145 §6.7: the receive ring bounds the unexpected PDUs the initiator may have in flight.
      out.add(new Pair(Key.MAX_OUTSTANDING_UNEXPECTED_PDUS.wireName, moup));
    }
    String mrdsl = n.local(Key.MAX_RECV_DATA_SEGMENT_LENGTH);
    if (n.rdmaExtensions()) {
      // RFC 7145 §6.2: MaxRecvDataSegmentLength is irrelevant in iSER-assisted mode; not declared.
    } else if (record) {
      out.add(declareMaxRecv());
    } else if (Values.parseNumber(mrdsl) != 8192) {
      out.add(new Pair(Key.MAX_RECV_DATA_SEGMENT_LENGTH.wireName, mrdsl));
    }
    for (Key k : Key.values()) {
      if (!k.negotiated() || k.use == Key.Use.SECURITY || n.peerSent(k.wireName) || n.irrelevant(k)) continue;
      if (k == Key.RDMA_EXTENSIONS) continue;
      // Offer only where the target's own limit would change the value in force: the result of
      // answering the current value with the target's preference differs from it.
      String current = n.value(k);
      String local = n.local(k);
      if (current == null || local == null) continue;
      if (k == Key.FIRST_BURST_LENGTH) {
        // RFC 7143 §13.14: never offer a FirstBurstLength above the MaxBurstLength the target allows.
        long mbl = Values.parseNumber(n.settledValue(Key.MAX_BURST_LENGTH));
        local = Long.toString(Math.min(Values.parseNumber(local), Math.min(mbl,
            Values.parseNumber(n.local(Key.MAX_BURST_LENGTH)))));
      }
      if (Values.select(k, current, local).equals(current)) continue;
      out.add(record ? n.offer(k, local) : new Pair(k.wireName, local));
    }
    return out;
  }

  public boolean discovery() {
    return n.discovery;
  }

  /** The InitiatorName declared in the first Login Request. */
  public String initiatorName() {
    return n.declared.get(Key.INITIATOR_NAME);
  }

  /** The TargetName of a Normal session, or null on a discovery session. */
  public String targetName() {
    return n.declared.get(Key.TARGET_NAME);
  }

  public String initiatorAlias() {
    return n.declared.get(Key.INITIATOR_ALIAS);
  }

  /** The authentication method chosen in the security stage ("None" when there was none). */
  public String authMethod() {
    return n.value(Key.AUTH_METHOD);
  }

  /** Session-wide values; for a connection added to a session, that session's values. */
  public SessionParameters sessionParameters() {
    if (existingSession != null) return existingSession;
    return n.session(initiatorName(), initiatorAlias(), targetName(), n.discovery ? -1 : portalGroupTag);
  }

  public ConnectionParameters connectionParameters() {
    return n.connection(n.peerMaxRecv, n.ownMaxRecv);
  }

  /** The initiator's MaxOutstandingUnexpectedPDUs (RFC 7145 §6.7); 0 when undeclared or not iSER. */
  public long initiatorMaxOutstandingUnexpectedPdus() {
    return n.peerMaxOutstandingUnexpectedPdus();
  }

  private void checkFirstRequest(List<Pair> request) throws NegotiationException {
    Map<String, String> first = new java.util.HashMap<>();
    for (Pair p : request) first.putIfAbsent(p.key(), p.value());
    // RFC 7143 §6.3.1 / §13.5: InitiatorName in the first Login Request, TargetName too unless Discovery.
    if (first.get(Key.INITIATOR_NAME.wireName) == null) {
      throw new NegotiationException(NegotiationException.MISSING_PARAMETER, "no InitiatorName in the first Login Request");
    }
    String type = first.getOrDefault(Key.SESSION_TYPE.wireName, "Normal");
    if (!"Normal".equals(type) && !"Discovery".equals(type)) {
      throw new NegotiationException(NegotiationException.SESSION_TYPE_NOT_SUPPORTED, "SessionType " + type);
    }
    if (existingSession == null) {
      n.discovery = "Discovery".equals(type);
    } else if ("Discovery".equals(type) != existingSession.discovery()) {
      throw Negotiation.error("SessionType " + type + " differs from the session's");
    }
    if (!n.discovery && first.get(Key.TARGET_NAME.wireName) == null) {
      throw new NegotiationException(NegotiationException.MISSING_PARAMETER, "no TargetName on a Normal session");
    }
  }
}
