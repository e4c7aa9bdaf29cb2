package io.spindle.iscsi.negotiation;

import io.spindle.iscsi.text.TextKeys.Pair;
import java.util.ArrayList;
import java.util.List;

/**
 * The initiator's side of the login negotiation (RFC 7143 §6.3): builds the offers from the
 * wanted values, checks the target's answers with the same result functions the target uses
 * ({@link Values}), answers the target's own offers and records its declarations.
 *
 * <p>Use: send {@link #start(Stage)} in the first Login Request; if it began in the security
 * stage, send {@link #operationalOffers()} in the first request of the operational stage. Pass
 * every complete Login Response text to {@link #receive(Stage, List)} and send the pairs it
 * returns in the next request. When the target transits to Full Feature Phase call
 * {@link #finish()}, then read {@link #sessionParameters()} and {@link #connectionParameters()}.
 * A {@link NegotiationException} means: drop the connection.
 */
public final class InitiatorNegotiator {

  private final Negotiation n;
  private final String initiatorName;
  private final String initiatorAlias;
  private final String targetName;
  private boolean started;
  private boolean operationalOffered;
  private List<Pair> authenticationKeys = List.of();

  /**
   * @param targetName the target to log in to, or null for a discovery session
   */
  public InitiatorNegotiator(OperationalOptions options, String initiatorName, String initiatorAlias,
      String targetName, NegotiationLimits limits) {
    if (initiatorName == null || initiatorName.isEmpty()) throw new IllegalArgumentException("initiatorName required");
    this.n = new Negotiation(false, options.snapshot(), limits);
    this.initiatorName = initiatorName;
    this.initiatorAlias = initiatorAlias;
    this.targetName = targetName;
    n.discovery = targetName == null;
  }

  public InitiatorNegotiator(OperationalOptions options, String initiatorName, String targetName) {
    this(options, initiatorName, null, targetName, NegotiationLimits.DEFAULT);
  }

  /**
   * Makes this the login of a connection added to an existing session (RFC 7143 §6.3, §7.2.3):
   * leading-only keys are not offered, and the session's RDMAExtensions outcome (leading-only, RFC
   * 7145 §6.3) holds here too, so an iSER session's further connection negotiates the iSER keys
   * instead of digests and MaxRecvDataSegmentLength. Call before {@link #start(Stage)}.
   */
  public InitiatorNegotiator furtherConnection(boolean rdmaExtensions) {
    if (started) throw new IllegalStateException("already started");
    n.leading = false;
    n.preload(java.util.Map.of(Key.RDMA_EXTENSIONS, Values.bool(rdmaExtensions)));
    return this;
  }

  /**
   * The text of the first Login Request: the declarations RFC 7143 §6.3.1 requires, then the
   * AuthMethod offer (security stage) or the operational offers.
   */
  public List<Pair> start(Stage stage) {
    if (started) throw new IllegalStateException("already started");
    started = true;
    List<Pair> out = new ArrayList<>();
    out.add(new Pair(Key.INITIATOR_NAME.wireName, initiatorName));
    if (initiatorAlias != null) out.add(new Pair(Key.INITIATOR_ALIAS.wireName, initiatorAlias));
    out.add(new Pair(Key.SESSION_TYPE.wireName, n.discovery ? "Discovery" : "Normal"));
    if (!n.discovery) out.add(new Pair(Key.TARGET_NAME.wireName, targetName));
    if (stage == Stage.SECURITY) {
      out.add(n.offer(Key.AUTH_METHOD, n.local(Key.AUTH_METHOD)));
    } else {
      out.addAll(operationalOffers());
    }
    return out;
  }

  /**
   * Offers every operational key (the irrelevant ones left out on a discovery session) and
   * declares this side's MaxRecvDataSegmentLength (RFC 7143 §13.12).
   */
  public List<Pair> operationalOffers() {
    if (operationalOffered) throw new IllegalStateException("operational keys already offered");
    operationalOffered = true;
    List<Pair> out = new ArrayList<>();
    if (!n.discovery && n.leading && Values.YES.equals(n.local(Key.RDMA_EXTENSIONS))) {
      // RFC 7145 §5.1: first, since the relevance of digests and the iSER keys hangs on it.
      out.add(n.offer(Key.RDMA_EXTENSIONS, Values.YES));
      String moup = n.local(Key.MAX_OUTSTANDING_UNEXPECTED_PDUS);
      if (Values.parseNumber(moup) != 0) out.add(new Pair(Key.MAX_OUTSTANDING_UNEXPECTED_PDUS.wireName, moup));
    }
    for (Key k : Key.values()) {
      if (k == Key.RDMA_EXTENSIONS) continue;
      if (k == Key.MAX_RECV_DATA_SEGMENT_LENGTH) {
        // RFC 7145 §6.2: irrelevant in iSER-assisted mode.
        if (n.rdmaExtensions()) continue;
        String v = n.local(k);
        n.ownMaxRecv = (int) Values.parseNumber(v);
        out.add(new Pair(k.wireName, v));
        continue;
      }
      if (!k.negotiated() || k.use == Key.Use.SECURITY || n.irrelevant(k) || n.peerSent(k.wireName)) continue;
      out.add(n.offer(k, n.local(k)));
    }
    return out;
  }

  /**
   * Processes one complete Login Response text received in {@code stage} (the response's CSG).
   *
   * @return the answers to the target's own offers, to send in the next Login Request
   */
  public List<Pair> receive(Stage stage, List<Pair> response) throws NegotiationException {
    Negotiation.Processed p = n.process(stage, response);
    if (!p.authentication.isEmpty()) {
      authenticationKeys = p.authentication;
    }
    return p.answers;
  }

  /** The CHAP keys of the last response, for the authenticator. */
  public List<Pair> authenticationKeys() {
    return authenticationKeys;
  }

  /** True while an offer waits for an answer the target must still give. */
  public boolean awaitingAnswers() {
    return n.awaitingAnswers();
  }

  /** Checks the login may end: the target answered every offer that needed an answer (RFC 7143 §6.2). */
  public void finish() throws NegotiationException {
    if (n.awaitingAnswers()) {
      throw Negotiation.error("target ended the login without answering every offer");
    }
  }

  /** The authentication method the target chose, or "None". */
  public String authMethod() {
    return n.value(Key.AUTH_METHOD);
  }

  /** The portal group tag the target returned (RFC 7143 §13.9), or -1. */
  public int targetPortalGroupTag() {
    String v = n.declared.get(Key.TARGET_PORTAL_GROUP_TAG);
    return v == null ? -1 : (int) Values.parseNumber(v);
  }

  public String targetAlias() {
    return n.declared.get(Key.TARGET_ALIAS);
  }

  public SessionParameters sessionParameters() {
    return n.session(initiatorName, initiatorAlias, targetName, targetPortalGroupTag());
  }

  public ConnectionParameters connectionParameters() {
    return n.connection(n.ownMaxRecv, n.peerMaxRecv);
  }

  /** The target's MaxOutstandingUnexpectedPDUs (RFC 7145 §6.7); 0 when undeclared or not iSER. */
  public long targetMaxOutstandingUnexpectedPdus() {
    return n.peerMaxOutstandingUnexpectedPdus();
  }
}
