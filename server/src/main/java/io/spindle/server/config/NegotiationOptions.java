package io.spindle.server.config;

import io.vertx.core.json.JsonObject;
import java.util.Set;

/**
 * The target's side of login negotiation and session limits: what it offers, what it accepts
 * at most. Values outside the RFC 7143 §13 ranges are configuration errors.
 */
public record NegotiationOptions(int maxRecvDataSegmentLength, int maxBurstLength, int firstBurstLength,
    int maxOutstandingR2t, boolean immediateData, boolean initialR2t, boolean headerDigest, boolean dataDigest,
    int errorRecoveryLevel, int maxConnections, int defaultTime2Wait, int defaultTime2Retain, int queueDepth,
    int nopInIntervalSeconds, int nopInTimeoutSeconds, int loginTimeoutSeconds, int outboundStallTimeoutSeconds) {

  /** Largest data segment the target receives; initiators send at most this per PDU. */
  public static final int DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH = 262144;
  public static final int DEFAULT_MAX_BURST_LENGTH = 1048576;
  public static final int DEFAULT_FIRST_BURST_LENGTH = 65536;
  public static final int DEFAULT_MAX_OUTSTANDING_R2T = 1;
  public static final boolean DEFAULT_IMMEDIATE_DATA = true;
  public static final boolean DEFAULT_INITIAL_R2T = false;
  /** Digests are allowed (CRC32C accepted when the initiator asks); the target prefers none. */
  public static final boolean DEFAULT_HEADER_DIGEST = true;
  public static final boolean DEFAULT_DATA_DIGEST = true;
  /** The highest ErrorRecoveryLevel offered; initiators asking for less get less (Min, RFC 7143 §13.20). */
  public static final int DEFAULT_ERROR_RECOVERY_LEVEL = 2;
  /** Connections a session may have (MC/S); initiators asking for fewer get fewer. */
  public static final int DEFAULT_MAX_CONNECTIONS = 4;
  public static final int DEFAULT_TIME2WAIT = 2;
  /** Seconds tasks of a failed connection wait for reassignment (RFC 7143 §13.16). */
  public static final int DEFAULT_TIME2RETAIN = 20;
  /** Commands a session may have outstanding: the CmdSN window (MaxCmdSN - ExpCmdSN + 1). */
  public static final int DEFAULT_QUEUE_DEPTH = 128;
  public static final int DEFAULT_NOP_IN_INTERVAL = 15;
  public static final int DEFAULT_NOP_IN_TIMEOUT = 30;
  public static final int DEFAULT_LOGIN_TIMEOUT = 15;
  /**
   * Seconds a connection may leave more than its outbound bound unread (it is not read from
   * meanwhile) before it is closed; see {@code OutboundSizing} for the bound.
   */
  public static final int DEFAULT_OUTBOUND_STALL_TIMEOUT = 30;

  private static final Set<String> FIELDS = Set.of("maxRecvDataSegmentLength", "maxBurstLength", "firstBurstLength",
      "maxOutstandingR2T", "immediateData", "initialR2T", "headerDigest", "dataDigest", "errorRecoveryLevel",
      "maxConnections", "defaultTime2Wait", "defaultTime2Retain", "queueDepth", "nopInInterval", "nopInTimeout",
      "loginTimeout", "outboundStallTimeout");

  public static NegotiationOptions defaults() {
    return fromJson(new JsonObject(), "negotiation");
  }

  public static NegotiationOptions fromJson(JsonObject j, String where) {
    for (String k : j.fieldNames()) {
      if (!FIELDS.contains(k)) throw new ConfigException(where + "." + k + ": unknown field (known: " + FIELDS + ")");
    }
    int mrdsl = range(j, where, "maxRecvDataSegmentLength", DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH, 512, (1 << 24) - 1);
    int mbl = range(j, where, "maxBurstLength", DEFAULT_MAX_BURST_LENGTH, 512, (1 << 24) - 1);
    int fbl = range(j, where, "firstBurstLength", DEFAULT_FIRST_BURST_LENGTH, 512, (1 << 24) - 1);
    if (fbl > mbl) {
      throw new ConfigException(where + ".firstBurstLength: " + fbl + " exceeds maxBurstLength " + mbl
          + " (RFC 7143 §13.14)");
    }
    return new NegotiationOptions(mrdsl, mbl, fbl,
        range(j, where, "maxOutstandingR2T", DEFAULT_MAX_OUTSTANDING_R2T, 1, 65535),
        bool(j, where, "immediateData", DEFAULT_IMMEDIATE_DATA),
        bool(j, where, "initialR2T", DEFAULT_INITIAL_R2T),
        bool(j, where, "headerDigest", DEFAULT_HEADER_DIGEST),
        bool(j, where, "dataDigest", DEFAULT_DATA_DIGEST),
        range(j, where, "errorRecoveryLevel", DEFAULT_ERROR_RECOVERY_LEVEL, 0, 2),
        range(j, where, "maxConnections", DEFAULT_MAX_CONNECTIONS, 1, 65535),
        range(j, where, "defaultTime2Wait", DEFAULT_TIME2WAIT, 0, 3600),
        range(j, where, "defaultTime2Retain", DEFAULT_TIME2RETAIN, 0, 3600),
        range(j, where, "queueDepth", DEFAULT_QUEUE_DEPTH, 1, 4096),
        range(j, where, "nopInInterval", DEFAULT_NOP_IN_INTERVAL, 0, 3600),
        range(j, where, "nopInTimeout", DEFAULT_NOP_IN_TIMEOUT, 1, 3600),
        range(j, where, "loginTimeout", DEFAULT_LOGIN_TIMEOUT, 1, 3600),
        range(j, where, "outboundStallTimeout", DEFAULT_OUTBOUND_STALL_TIMEOUT, 1, 3600));
  }

  public JsonObject toJson() {
    return new JsonObject().put("maxRecvDataSegmentLength", maxRecvDataSegmentLength)
        .put("maxBurstLength", maxBurstLength).put("firstBurstLength", firstBurstLength)
        .put("maxOutstandingR2T", maxOutstandingR2t).put("immediateData", immediateData)
        .put("initialR2T", initialR2t).put("headerDigest", headerDigest).put("dataDigest", dataDigest)
        .put("errorRecoveryLevel", errorRecoveryLevel).put("maxConnections", maxConnections)
        .put("defaultTime2Wait", defaultTime2Wait).put("defaultTime2Retain", defaultTime2Retain)
        .put("queueDepth", queueDepth).put("nopInInterval", nopInIntervalSeconds)
        .put("nopInTimeout", nopInTimeoutSeconds).put("loginTimeout", loginTimeoutSeconds)
        .put("outboundStallTimeout", outboundStallTimeoutSeconds);
  }

  static int range(JsonObject j, String where, String key, int def, int min, int max) {
    Object v = j.getValue(key);
    if (v == null) return def;
    if (!(v instanceof Number n) || n.doubleValue() != n.intValue()) {
      throw new ConfigException(where + "." + key + ": " + v + " is not a whole number");
    }
    int i = n.intValue();
    if (i < min || i > max) {
      throw new ConfigException(where + "." + key + ": " + i + " is outside " + min + ".." + max
          + (min == max ? " (this version supports only " + min + ")" : ""));
    }
    return i;
  }

  static boolean bool(JsonObject j, String where, String key, boolean def) {
    Object v = j.getValue(key);
    if (v == null) return def;
    if (!(v instanceof Boolean b)) throw new ConfigException(where + "." + key + ": " + v + " is not true or false");
    return b;
  }
}
