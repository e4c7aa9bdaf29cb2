package io.spindle.server.iscsi;

import io.spindle.iscsi.text.TextKeys.Pair;
import io.spindle.server.config.NegotiationOptions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The target's side of one login's key negotiation (RFC 7143 §6, §13): answers offers with the
 * result functions, remembers declarations, and yields the {@link SessionParams}.
 */
final class LoginNegotiation {

  private final NegotiationOptions options;
  private final Map<String, String> declared = new HashMap<>();
  private boolean declaredOwnMrdsl;

  // Results, starting from the RFC 7143 §13 defaults.
  private boolean headerDigest;
  private boolean dataDigest;
  private boolean initialR2t = true;
  private boolean immediateData = true;
  private int maxBurstLength = 262144;
  private int firstBurstLength = 65536;
  private int maxOutstandingR2t = 1;
  private int errorRecoveryLevel;
  private int maxConnections = 1;
  private int defaultTime2Wait = 2;
  private int defaultTime2Retain = 20;
  private int initiatorMrdsl = 8192;

  LoginNegotiation(NegotiationOptions options) {
    this.options = options;
  }

  String declared(String key) {
    return declared.get(key);
  }

  boolean discovery() {
    return "Discovery".equals(declared.get("SessionType"));
  }

  /** Answers one stage's (or Text request's) offers, in order. */
  List<Pair> respond(int stage, List<Pair> offers) throws LoginException {
    List<Pair> out = new ArrayList<>();
    for (Pair p : offers) {
      String k = p.key();
      String v = p.value();
      switch (k) {
        case "InitiatorName": case "TargetName": case "SessionType": case "InitiatorAlias":
          declared.put(k, v);
          break;
        case "AuthMethod":
          if (stage != 0) {
            out.add(new Pair(k, "Reject"));
          } else if (List.of(v.split(",")).contains("None")) {
            out.add(new Pair(k, "None"));
          } else {
            throw new LoginException(LoginException.AUTHENTICATION_FAILURE,
                "initiator offers AuthMethod=" + v + " but the target has no credentials configured");
          }
          break;
        case "HeaderDigest":
          headerDigest = pickDigest(v, options.headerDigest());
          out.add(new Pair(k, headerDigest ? "CRC32C" : "None"));
          break;
        case "DataDigest":
          dataDigest = pickDigest(v, options.dataDigest());
          out.add(new Pair(k, dataDigest ? "CRC32C" : "None"));
          break;
        case "MaxRecvDataSegmentLength":
          initiatorMrdsl = number(k, v, 512, (1 << 24) - 1);
          break;
        case "InitialR2T":
          initialR2t = bool(k, v) || options.initialR2t();
          out.add(new Pair(k, yesNo(initialR2t)));
          break;
        case "ImmediateData":
          immediateData = bool(k, v) && options.immediateData();
          out.add(new Pair(k, yesNo(immediateData)));
          break;
        case "MaxBurstLength":
          maxBurstLength = Math.min(number(k, v, 512, (1 << 24) - 1), options.maxBurstLength());
          out.add(new Pair(k, Integer.toString(maxBurstLength)));
          break;
        case "FirstBurstLength":
          firstBurstLength = Math.min(number(k, v, 512, (1 << 24) - 1), options.firstBurstLength());
          out.add(new Pair(k, Integer.toString(firstBurstLength)));
          break;
        case "MaxOutstandingR2T":
          maxOutstandingR2t = Math.min(number(k, v, 1, 65535), options.maxOutstandingR2t());
          out.add(new Pair(k, Integer.toString(maxOutstandingR2t)));
          break;
        case "ErrorRecoveryLevel":
          errorRecoveryLevel = Math.min(number(k, v, 0, 2), options.errorRecoveryLevel());
          out.add(new Pair(k, Integer.toString(errorRecoveryLevel)));
          break;
        case "MaxConnections":
          maxConnections = Math.min(number(k, v, 1, 65535), options.maxConnections());
          out.add(new Pair(k, Integer.toString(maxConnections)));
          break;
        case "DefaultTime2Wait":
          defaultTime2Wait = Math.max(number(k, v, 0, 3600), options.defaultTime2Wait());
          out.add(new Pair(k, Integer.toString(defaultTime2Wait)));
          break;
        case "DefaultTime2Retain":
          defaultTime2Retain = Math.min(number(k, v, 0, 3600), options.defaultTime2Retain());
          out.add(new Pair(k, Integer.toString(defaultTime2Retain)));
          break;
        case "DataPDUInOrder": case "DataSequenceInOrder":
          // OR result function; the target asks for in-order data.
          out.add(new Pair(k, "Yes"));
          break;
        case "IFMarker": case "OFMarker":
          out.add(new Pair(k, "No"));
          break;
        case "IFMarkInt": case "OFMarkInt":
          out.add(new Pair(k, "Irrelevant"));
          break;
        default:
          out.add(new Pair(k, "NotUnderstood"));
      }
    }
    if (stage == 1 && !declaredOwnMrdsl) {
      declaredOwnMrdsl = true;
      out.add(new Pair("MaxRecvDataSegmentLength", Integer.toString(options.maxRecvDataSegmentLength())));
    }
    return out;
  }

  SessionParams result() {
    boolean disc = discovery();
    return new SessionParams(initialR2t, immediateData, maxBurstLength, Math.min(firstBurstLength, maxBurstLength),
        maxOutstandingR2t, true, true, disc ? 0 : errorRecoveryLevel, defaultTime2Wait, defaultTime2Retain,
        maxConnections, headerDigest, dataDigest, initiatorMrdsl,
        declaredOwnMrdsl ? options.maxRecvDataSegmentLength() : 8192);
  }

  private static boolean pickDigest(String offer, boolean allowed) {
    for (String o : offer.split(",")) {
      if (o.equals("CRC32C") && allowed) return true;
      if (o.equals("None")) return false;
    }
    return false;
  }

  private static boolean bool(String k, String v) throws LoginException {
    if (v.equals("Yes")) return true;
    if (v.equals("No")) return false;
    throw new LoginException(LoginException.INITIATOR_ERROR, k + "=" + v + " is not Yes or No");
  }

  private static String yesNo(boolean b) {
    return b ? "Yes" : "No";
  }

  private static int number(String k, String v, int min, int max) throws LoginException {
    try {
      long n = Long.parseLong(v);
      if (n < min || n > max) throw new NumberFormatException();
      return (int) n;
    } catch (NumberFormatException e) {
      throw new LoginException(LoginException.INITIATOR_ERROR, k + "=" + v + " is outside " + min + ".." + max);
    }
  }
}
