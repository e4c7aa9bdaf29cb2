package io.spindle.iscsi.negotiation;

import io.spindle.iscsi.text.TextKeys.Pair;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The state and rules both sides share: the values in force, this side's outstanding offers,
 * and how a text from the peer is answered (RFC 7143 §6). {@link TargetNegotiator} and
 * {@link InitiatorNegotiator} only add what differs between the roles.
 */
final class Negotiation {

  /** Answers, authentication keys and a SendTargets inquiry found in one text of the peer. */
  static final class Processed {
    final List<Pair> answers = new ArrayList<>();
    final List<Pair> authentication = new ArrayList<>();
    String sendTargets;
  }

  private final boolean target;
  private final Map<Key, String> local;
  private final NegotiationLimits limits;
  /** Results of negotiated keys, for keys negotiated away from their default. */
  private final EnumMap<Key, String> inForce = new EnumMap<>(Key.class);
  /** Declarations received from the peer. */
  final EnumMap<Key, String> declared = new EnumMap<>(Key.class);
  /** This side's offers still waiting for an answer. */
  private final EnumMap<Key, String> pending = new EnumMap<>(Key.class);
  /** Keys the peer has sent in this negotiation (RFC 7143 §6.1: none may be sent twice). */
  private final Set<String> peerKeys = new HashSet<>();
  private int keyCount;
  private int textBytes;
  boolean discovery;
  boolean leading = true;
  int ownMaxRecv = 8192;
  int peerMaxRecv = 8192;

  Negotiation(boolean target, Map<Key, String> local, NegotiationLimits limits) {
    this.target = target;
    this.local = local;
    this.limits = limits;
  }

  String local(Key k) {
    return local.get(k);
  }

  /** The value in force: negotiated, or the RFC default. */
  String value(Key k) {
    String v = inForce.get(k);
    return v != null ? v : k.defaultValue;
  }

  /**
   * The value in force once outstanding offers whose answer cannot change the outcome are
   * settled: RFC 7143 §6.2.2 makes the answer optional for AND offered No and OR offered Yes.
   */
  String settledValue(Key k) {
    String mine = pending.get(k);
    if (mine != null && inevitable(k, mine)) return mine;
    return value(k);
  }

  void preload(Map<Key, String> values) {
    inForce.putAll(values);
  }

  boolean peerSent(String key) {
    return peerKeys.contains(key);
  }

  /** True while an offer of this side needs an answer before the stage may end. */
  boolean awaitingAnswers() {
    for (Map.Entry<Key, String> e : pending.entrySet()) {
      if (!inevitable(e.getKey(), e.getValue())) return true;
    }
    return false;
  }

  private static boolean inevitable(Key k, String offered) {
    return (k.result == Key.Result.AND && Values.NO.equals(offered))
        || (k.result == Key.Result.OR && Values.YES.equals(offered));
  }

  /** Records an offer of this side and returns its pair. */
  Pair offer(Key k, String value) {
    pending.put(k, value);
    return new Pair(k.wireName, value);
  }

  /** Starts a new Text negotiation: keys may be sent again, limits count afresh (RFC 7143 §6.1). */
  void restart() {
    peerKeys.clear();
    pending.clear();
    keyCount = 0;
    textBytes = 0;
  }

  /**
   * True while the connection runs, or is being offered to run, in iSER-assisted mode: RDMAExtensions
   * is Yes in force, or this side offered Yes and no answer has said otherwise yet.
   */
  boolean rdmaExtensions() {
    String mine = pending.get(Key.RDMA_EXTENSIONS);
    if (mine != null) return Values.YES.equals(mine);
    return Values.YES.equals(value(Key.RDMA_EXTENSIONS));
  }

  /** True if the key is "Irrelevant" in this session (RFC 7143 §13 "Irrelevant when"). */
  boolean irrelevant(Key k) {
    if (discovery && k.irrelevantInDiscovery) return true;
    // RFC 7145 §6.4-§6.7: the iSER keys are irrelevant when RDMAExtensions=No; RFC 7145 §6.1 and
    // §6.2: digests (iSER has none) and MaxRecvDataSegmentLength are irrelevant when it is Yes.
    if (k.iserOnly()) return !rdmaExtensions();
    if (k == Key.HEADER_DIGEST || k == Key.DATA_DIGEST || k == Key.MAX_RECV_DATA_SEGMENT_LENGTH) {
      return rdmaExtensions();
    }
    // LO keys belong to the leading connection; on another one the session values stand.
    if (!leading && k.use == Key.Use.LEADING_ONLY && k.negotiated()) return true;
    if (k == Key.FIRST_BURST_LENGTH) {
      // RFC 7143 §13.14: irrelevant when InitialR2T=Yes and ImmediateData=No.
      return Values.YES.equals(settledValue(Key.INITIAL_R2T)) && Values.NO.equals(settledValue(Key.IMMEDIATE_DATA));
    }
    return false;
  }

  /** Answers one complete text of the peer (all PDUs of a C-bit sequence) received in {@code stage}. */
  Processed process(Stage stage, List<Pair> text) throws NegotiationException {
    Processed out = new Processed();
    String firstBurstOffer = null;
    int firstBurstIndex = -1;
    for (Pair p : rdmaExtensionsFirst(text)) {
      String name = p.key();
      String v = p.value();
      count(name, v);
      if (!peerKeys.add(name)) {
        throw error("key " + name + " sent twice in one negotiation (RFC 7143 §6.1)");
      }
      Key k = Key.of(name);
      if (k == null) {
        // RFC 7143 §6.2: unknown keys, private X- / X# keys included (§13.22), are answered NotUnderstood.
        out.answers.add(new Pair(name, Values.NOT_UNDERSTOOD));
        continue;
      }
      String mine = pending.remove(k);
      if (mine != null) {
        acceptAnswer(k, mine, v);
        continue;
      }
      if (k.result == Key.Result.AUTHENTICATION && stage == Stage.SECURITY) {
        out.authentication.add(p);
        continue;
      }
      if (Values.isReservedAnswer(v)) {
        throw error(name + "=" + v + " answers a key that was not offered");
      }
      if (!k.sentBy(!target) || !allowedIn(k, stage)) {
        // RFC 7143 §13 "Use"/"Senders": in Full Feature Phase the Text negotiation refuses the key;
        // during login a key in the wrong stage fails the login (initiator error).
        if (stage == Stage.FULL_FEATURE) {
          out.answers.add(new Pair(name, Values.REJECT));
          continue;
        }
        throw error(name + " is not allowed " + (k.sentBy(!target) ? "in the " + stage + " stage" : "from the "
            + (target ? "initiator" : "target")) + " (" + k.citation() + ")");
      }
      switch (k.result) {
        case DECLARATIVE:
          declare(k, v);
          break;
        case INQUIRY:
          out.sendTargets = v;
          break;
        case OBSOLETE:
          // RFC 7143 §13.25: Reject for IFMarker/OFMarker (SHOULD) and IFMarkInt/OFMarkInt (MUST).
          out.answers.add(new Pair(name, Values.REJECT));
          break;
        case AUTHENTICATION:
          throw error(name + " outside the security stage");
        default:
          if (!Values.valid(k, v)) {
            // RFC 7143 §6.2.2: an illegal or out-of-range offer is answered Reject; the value stays.
            out.answers.add(new Pair(name, Values.REJECT));
          } else if (k == Key.FIRST_BURST_LENGTH) {
            // Answered after the whole text: it depends on InitialR2T, ImmediateData and MaxBurstLength.
            firstBurstOffer = v;
            firstBurstIndex = out.answers.size();
            out.answers.add(null);
          } else if (irrelevant(k)) {
            out.answers.add(new Pair(name, Values.IRRELEVANT));
          } else {
            String answer = Values.select(k, v, local.get(k));
            if (!Values.REJECT.equals(answer)) inForce.put(k, answer);
            out.answers.add(new Pair(name, answer));
          }
      }
    }
    if (firstBurstOffer != null) {
      String answer;
      if (irrelevant(Key.FIRST_BURST_LENGTH)) {
        answer = Values.IRRELEVANT;
      } else {
        // RFC 7143 §13.14: FirstBurstLength MUST NOT exceed MaxBurstLength; any value up to the
        // offer is a legal minimum-function answer, so the answer is clamped.
        long v = Math.min(Values.parseNumber(Values.select(Key.FIRST_BURST_LENGTH, firstBurstOffer,
            local.get(Key.FIRST_BURST_LENGTH))), Values.parseNumber(settledValue(Key.MAX_BURST_LENGTH)));
        answer = Long.toString(v);
        inForce.put(Key.FIRST_BURST_LENGTH, answer);
      }
      out.answers.set(firstBurstIndex, new Pair(Key.FIRST_BURST_LENGTH.wireName, answer));
    }
    return out;
  }

  /**
   * The text with RDMAExtensions moved to the front: whether the other iSER keys, the digests and
   * MaxRecvDataSegmentLength are relevant depends on it, wherever the peer put it in the text.
   */
  private static List<Pair> rdmaExtensionsFirst(List<Pair> text) {
    List<Pair> out = new ArrayList<>(text.size());
    for (Pair p : text) if (p.key().equals(Key.RDMA_EXTENSIONS.wireName)) out.add(p);
    for (Pair p : text) if (!p.key().equals(Key.RDMA_EXTENSIONS.wireName)) out.add(p);
    return out;
  }

  private boolean allowedIn(Key k, Stage stage) {
    if (k.result == Key.Result.DECLARATIVE) {
      return stage != Stage.FULL_FEATURE || k.use == Key.Use.ALL;
    }
    switch (k.use) {
      case SECURITY:
        return stage == Stage.SECURITY;
      case FULL_FEATURE_ONLY:
        return stage == Stage.FULL_FEATURE;
      case LEADING_ONLY:
      case INITIALIZE_ONLY:
        // RFC 7143 §6.3: operational keys belong to the operational stage.
        return stage == Stage.OPERATIONAL;
      case ALL:
        return stage != Stage.SECURITY;
      default:
        throw new AssertionError(k.use);
    }
  }

  private void declare(Key k, String v) throws NegotiationException {
    if (!Values.valid(k, v) || v.length() > Values.MAX_VALUE_LENGTH) {
      // A declaration has no answer that could refuse it (RFC 7143 §6.1), so an illegal one ends the negotiation.
      throw error("illegal value for " + k + " (" + k.citation() + ")");
    }
    if (k == Key.MAX_RECV_DATA_SEGMENT_LENGTH) {
      // RFC 7145 §6.2: in iSER-assisted mode the declaration is irrelevant (the RecvDataSegmentLength keys rule).
      if (rdmaExtensions()) return;
      peerMaxRecv = (int) Values.parseNumber(v);
    } else if (k == Key.SESSION_TYPE) {
      if (!"Normal".equals(v) && !"Discovery".equals(v)) {
        throw new NegotiationException(NegotiationException.SESSION_TYPE_NOT_SUPPORTED, "SessionType " + v);
      }
      discovery = "Discovery".equals(v);
    }
    declared.put(k, v);
  }

  private void acceptAnswer(Key k, String mine, String answer) throws NegotiationException {
    if (Values.isReservedAnswer(answer)) {
      // RFC 7143 §6.2: Reject, Irrelevant or NotUnderstood leave the key at its current value.
      return;
    }
    if (!Values.acceptable(k, mine, answer)) {
      throw error(k + "=" + answer + " is not a legal answer to " + k + "=" + mine + " (RFC 7143 §6.2)");
    }
    inForce.put(k, answer);
  }

  private void count(String key, String value) throws NegotiationException {
    keyCount++;
    textBytes += key.length() + value.length() + 2;
    if (keyCount > limits.maxKeys()) throw error("more than " + limits.maxKeys() + " keys in one negotiation");
    if (textBytes > limits.maxTextBytes()) {
      throw error("more than " + limits.maxTextBytes() + " bytes of text in one negotiation");
    }
  }

  static NegotiationException error(String message) {
    return new NegotiationException(NegotiationException.INITIATOR_ERROR, message);
  }

  ConnectionParameters connection(int initiatorMaxRecv, int targetMaxRecv) {
    if (Values.YES.equals(settledValue(Key.RDMA_EXTENSIONS))) {
      // RFC 7145 §6.4-§6.5: receive buffer sizes come from the iSER keys; no digests (§6.1).
      return new ConnectionParameters(false, false,
          (int) Values.parseNumber(settledValue(Key.INITIATOR_RECV_DATA_SEGMENT_LENGTH)),
          (int) Values.parseNumber(settledValue(Key.TARGET_RECV_DATA_SEGMENT_LENGTH)), true);
    }
    return new ConnectionParameters("CRC32C".equals(settledValue(Key.HEADER_DIGEST)),
        "CRC32C".equals(settledValue(Key.DATA_DIGEST)), initiatorMaxRecv, targetMaxRecv, false);
  }

  /** The peer's MaxOutstandingUnexpectedPDUs declaration (RFC 7145 §6.7), 0 when none or not in iSER mode. */
  long peerMaxOutstandingUnexpectedPdus() {
    String v = declared.get(Key.MAX_OUTSTANDING_UNEXPECTED_PDUS);
    return v == null || !rdmaExtensions() ? 0 : Values.parseNumber(v);
  }

  SessionParameters session(String initiatorName, String initiatorAlias, String targetName, int tpgt) {
    SessionParameters s = SessionParameters.from(discovery, initiatorName, initiatorAlias, targetName, tpgt,
        this::settledValue);
    if (s.firstBurstLength() > s.maxBurstLength()) {
      // RFC 7143 §13.14; a peer that broke the rule must not make us exceed MaxBurstLength.
      Map<Key, String> v = s.negotiatedValues();
      v.put(Key.FIRST_BURST_LENGTH, v.get(Key.MAX_BURST_LENGTH));
      s = SessionParameters.from(discovery, initiatorName, initiatorAlias, targetName, tpgt, v::get);
    }
    return s;
  }
}
