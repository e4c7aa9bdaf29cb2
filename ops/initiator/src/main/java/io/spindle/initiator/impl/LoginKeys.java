package io.spindle.initiator.impl;

import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.NegotiatedParameters;
import io.spindle.iscsi.codec.CodecLimits;
import io.spindle.iscsi.text.TextKeys.Pair;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The initiator's side of operational key negotiation (RFC 7143 §6.2, §13), kept in one class
 * so it can be replaced by the shared negotiator: a fixed offer built from the options, an
 * echo answer for keys the target offers on its own, and the settled values read from the
 * target's answers (the responder's answer is the result for the min/max and boolean keys).
 */
final class LoginKeys {

  /** Keys the target declares rather than negotiates; they need no answer (RFC 7143 §6.2). */
  private static final Set<String> DECLARATIVE = Set.of("TargetAlias", "TargetAddress", "TargetPortalGroupTag",
      "MaxRecvDataSegmentLength", "TargetName");

  private LoginKeys() {
  }

  /** Keys of the first login request: who we are and where to (RFC 7143 §5.3.1). */
  static List<Pair> identity(InitiatorOptions o, String targetName) {
    List<Pair> keys = new ArrayList<>();
    keys.add(new Pair("InitiatorName", o.getInitiatorName()));
    if (targetName == null) {
      keys.add(new Pair("SessionType", "Discovery"));
    } else {
      keys.add(new Pair("SessionType", "Normal"));
      keys.add(new Pair("TargetName", targetName));
    }
    return keys;
  }

  /** The operational offer (RFC 7143 §13). A discovery session offers only what applies to it. */
  static List<Pair> offer(InitiatorOptions o, boolean discovery) {
    List<Pair> keys = new ArrayList<>();
    keys.add(new Pair("HeaderDigest", o.getHeaderDigest()));
    keys.add(new Pair("DataDigest", o.getDataDigest()));
    keys.add(new Pair("MaxRecvDataSegmentLength", Integer.toString(o.getMaxRecvDataSegmentLength())));
    if (!discovery) {
      keys.add(new Pair("ImmediateData", yesNo(o.isImmediateData())));
      keys.add(new Pair("InitialR2T", yesNo(o.isInitialR2t())));
      keys.add(new Pair("FirstBurstLength", Integer.toString(o.getFirstBurstLength())));
      keys.add(new Pair("MaxBurstLength", Integer.toString(o.getMaxBurstLength())));
      keys.add(new Pair("MaxOutstandingR2T", Integer.toString(o.getMaxOutstandingR2t())));
      keys.add(new Pair("ErrorRecoveryLevel", Integer.toString(o.getErrorRecoveryLevel())));
      keys.add(new Pair("MaxConnections", "1"));
      keys.add(new Pair("DataPDUInOrder", "Yes"));
      keys.add(new Pair("DataSequenceInOrder", "Yes"));
      keys.addAll(o.getExtraKeys());
    }
    return keys;
  }

  /**
   * Answers to keys the target proposed on its own (not answers to our offer, not declarations):
   * the target's own value (the first of a list), which is always an acceptable answer for the
   * list, boolean and numeric keys of RFC 7143 §13.
   */
  static List<Pair> answers(List<Pair> fromTarget, Set<String> offered) {
    List<Pair> out = new ArrayList<>();
    for (Pair p : fromTarget) {
      if (offered.contains(p.key()) || DECLARATIVE.contains(p.key()) || isSpecial(p.value())) continue;
      int comma = p.value().indexOf(',');
      out.add(new Pair(p.key(), comma < 0 ? p.value() : p.value().substring(0, comma)));
    }
    return out;
  }

  /** The settled parameters, from everything the target said during login. */
  static NegotiatedParameters settle(InitiatorOptions o, List<Pair> fromTarget) {
    Map<String, String> v = new LinkedHashMap<>();
    for (Pair p : fromTarget) {
      if (!isSpecial(p.value())) v.put(p.key(), p.value());
    }
    // RFC 7143 §13: defaults apply to keys the target left unanswered.
    return new NegotiatedParameters(
        "CRC32C".equals(v.get("HeaderDigest")),
        "CRC32C".equals(v.get("DataDigest")),
        o.getMaxRecvDataSegmentLength(),
        number(v, "MaxRecvDataSegmentLength", CodecLimits.DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH),
        bool(v, "ImmediateData", true) && o.isImmediateData(),
        bool(v, "InitialR2T", true) || o.isInitialR2t(),
        Math.min(number(v, "FirstBurstLength", 65_536), o.getFirstBurstLength()),
        Math.min(number(v, "MaxBurstLength", 262_144), o.getMaxBurstLength()),
        Math.min(number(v, "MaxOutstandingR2T", 1), o.getMaxOutstandingR2t()),
        Math.min(number(v, "ErrorRecoveryLevel", 0), o.getErrorRecoveryLevel()),
        fromTarget);
  }

  /** RFC 7143 §6.2: answers that carry no value. */
  private static boolean isSpecial(String value) {
    return value.equals("NotUnderstood") || value.equals("Irrelevant") || value.equals("Reject");
  }

  private static boolean bool(Map<String, String> v, String key, boolean dflt) {
    String s = v.get(key);
    return s == null ? dflt : s.equals("Yes");
  }

  private static int number(Map<String, String> v, String key, int dflt) {
    String s = v.get(key);
    if (s == null) return dflt;
    try {
      return Integer.parseInt(s);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("target answered " + key + "=" + s + ", not a number");
    }
  }

  private static String yesNo(boolean b) {
    return b ? "Yes" : "No";
  }
}
