package io.spindle.iscsi.negotiation;

import java.util.HashMap;
import java.util.Map;

/**
 * The text keys of RFC 7143 §12 and §13 (and iSCSIProtocolLevel, RFC 7144), with what a
 * negotiator must know about each: value syntax, result function, scope, where it may be
 * used, who may send it, its default and its legal range. One row per key; every rule about
 * a key lives here, so target and initiator cannot disagree.
 */
public enum Key {

  // RFC 7143 §13.1: lists of CRC32C / None, one choice per connection, default None.
  HEADER_DIGEST("HeaderDigest", ValueType.LIST, Result.FIRST_ACCEPTABLE, Scope.CONNECTION, Use.INITIALIZE_ONLY,
      Sender.BOTH, "None", 0, 0, false, "13.1"),
  DATA_DIGEST("DataDigest", ValueType.LIST, Result.FIRST_ACCEPTABLE, Scope.CONNECTION, Use.INITIALIZE_ONLY,
      Sender.BOTH, "None", 0, 0, false, "13.1"),
  MAX_CONNECTIONS("MaxConnections", ValueType.NUMBER, Result.MIN, Scope.SESSION, Use.LEADING_ONLY,
      Sender.BOTH, "1", 1, 65535, true, "13.2"),
  // RFC 7143 §13.3: a request for data, answered by the target with TargetName/TargetAddress records.
  SEND_TARGETS("SendTargets", ValueType.TEXT, Result.INQUIRY, Scope.SESSION, Use.FULL_FEATURE_ONLY,
      Sender.INITIATOR, null, 0, 0, false, "13.3"),
  // RFC 7143 §13.4: sent by the initiator at login, by the target only inside SendTargets answers.
  TARGET_NAME("TargetName", ValueType.TEXT, Result.DECLARATIVE, Scope.SESSION, Use.INITIALIZE_ONLY,
      Sender.BOTH, null, 0, 0, false, "13.4"),
  INITIATOR_NAME("InitiatorName", ValueType.TEXT, Result.DECLARATIVE, Scope.SESSION, Use.INITIALIZE_ONLY,
      Sender.INITIATOR, null, 0, 0, false, "13.5"),
  TARGET_ALIAS("TargetAlias", ValueType.TEXT, Result.DECLARATIVE, Scope.SESSION, Use.ALL,
      Sender.TARGET, null, 0, 0, false, "13.6"),
  INITIATOR_ALIAS("InitiatorAlias", ValueType.TEXT, Result.DECLARATIVE, Scope.SESSION, Use.ALL,
      Sender.INITIATOR, null, 0, 0, false, "13.7"),
  TARGET_ADDRESS("TargetAddress", ValueType.TEXT, Result.DECLARATIVE, Scope.SESSION, Use.ALL,
      Sender.TARGET, null, 0, 0, false, "13.8"),
  TARGET_PORTAL_GROUP_TAG("TargetPortalGroupTag", ValueType.NUMBER, Result.DECLARATIVE, Scope.SESSION,
      Use.INITIALIZE_ONLY, Sender.TARGET, null, 0, 65535, false, "13.9"),
  INITIAL_R2T("InitialR2T", ValueType.BOOLEAN, Result.OR, Scope.SESSION, Use.LEADING_ONLY,
      Sender.BOTH, "Yes", 0, 0, true, "13.10"),
  IMMEDIATE_DATA("ImmediateData", ValueType.BOOLEAN, Result.AND, Scope.SESSION, Use.LEADING_ONLY,
      Sender.BOTH, "Yes", 0, 0, true, "13.11"),
  // RFC 7143 §13.12: declared by each side for what it receives, per connection, renegotiable in FFP.
  MAX_RECV_DATA_SEGMENT_LENGTH("MaxRecvDataSegmentLength", ValueType.NUMBER, Result.DECLARATIVE,
      Scope.CONNECTION, Use.ALL, Sender.BOTH, "8192", 512, (1 << 24) - 1, false, "13.12"),
  MAX_BURST_LENGTH("MaxBurstLength", ValueType.NUMBER, Result.MIN, Scope.SESSION, Use.LEADING_ONLY,
      Sender.BOTH, "262144", 512, (1 << 24) - 1, true, "13.13"),
  FIRST_BURST_LENGTH("FirstBurstLength", ValueType.NUMBER, Result.MIN, Scope.SESSION, Use.LEADING_ONLY,
      Sender.BOTH, "65536", 512, (1 << 24) - 1, true, "13.14"),
  DEFAULT_TIME2WAIT("DefaultTime2Wait", ValueType.NUMBER, Result.MAX, Scope.SESSION, Use.LEADING_ONLY,
      Sender.BOTH, "2", 0, 3600, false, "13.15"),
  DEFAULT_TIME2RETAIN("DefaultTime2Retain", ValueType.NUMBER, Result.MIN, Scope.SESSION, Use.LEADING_ONLY,
      Sender.BOTH, "20", 0, 3600, false, "13.16"),
  MAX_OUTSTANDING_R2T("MaxOutstandingR2T", ValueType.NUMBER, Result.MIN, Scope.SESSION, Use.LEADING_ONLY,
      Sender.BOTH, "1", 1, 65535, true, "13.17"),
  DATA_PDU_IN_ORDER("DataPDUInOrder", ValueType.BOOLEAN, Result.OR, Scope.SESSION, Use.LEADING_ONLY,
      Sender.BOTH, "Yes", 0, 0, true, "13.18"),
  DATA_SEQUENCE_IN_ORDER("DataSequenceInOrder", ValueType.BOOLEAN, Result.OR, Scope.SESSION, Use.LEADING_ONLY,
      Sender.BOTH, "Yes", 0, 0, true, "13.19"),
  ERROR_RECOVERY_LEVEL("ErrorRecoveryLevel", ValueType.NUMBER, Result.MIN, Scope.SESSION, Use.LEADING_ONLY,
      Sender.BOTH, "0", 0, 2, false, "13.20"),
  SESSION_TYPE("SessionType", ValueType.TEXT, Result.DECLARATIVE, Scope.SESSION, Use.LEADING_ONLY,
      Sender.INITIATOR, "Normal", 0, 0, false, "13.21"),
  TASK_REPORTING("TaskReporting", ValueType.LIST, Result.FIRST_ACCEPTABLE, Scope.SESSION, Use.LEADING_ONLY,
      Sender.BOTH, "RFC3720", 0, 0, true, "13.23"),
  // RFC 7143 §13.24 / RFC 7144 §2: 0..31, minimum wins; RFC 7143 itself is level 1.
  ISCSI_PROTOCOL_LEVEL("iSCSIProtocolLevel", ValueType.NUMBER, Result.MIN, Scope.SESSION, Use.LEADING_ONLY,
      Sender.BOTH, "1", 0, 31, true, "13.24"),
  // RFC 7143 §13.25: obsolete marker keys; the answer is always Reject (see Negotiation#answer).
  IF_MARKER("IFMarker", ValueType.BOOLEAN, Result.OBSOLETE, Scope.CONNECTION, Use.INITIALIZE_ONLY,
      Sender.BOTH, "No", 0, 0, false, "13.25"),
  OF_MARKER("OFMarker", ValueType.BOOLEAN, Result.OBSOLETE, Scope.CONNECTION, Use.INITIALIZE_ONLY,
      Sender.BOTH, "No", 0, 0, false, "13.25"),
  IF_MARK_INT("IFMarkInt", ValueType.RANGE, Result.OBSOLETE, Scope.CONNECTION, Use.INITIALIZE_ONLY,
      Sender.BOTH, "2048", 1, 65535, false, "13.25"),
  OF_MARK_INT("OFMarkInt", ValueType.RANGE, Result.OBSOLETE, Scope.CONNECTION, Use.INITIALIZE_ONLY,
      Sender.BOTH, "2048", 1, 65535, false, "13.25"),
  // RFC 7143 §13.26: the one public X# key, declarative.
  NODE_ARCHITECTURE("X#NodeArchitecture", ValueType.LIST, Result.DECLARATIVE, Scope.SESSION, Use.LEADING_ONLY,
      Sender.BOTH, null, 0, 0, false, "13.26"),
  // RFC 7143 §12.1: chosen in the security stage of every connection.
  AUTH_METHOD("AuthMethod", ValueType.LIST, Result.FIRST_ACCEPTABLE, Scope.CONNECTION, Use.SECURITY,
      Sender.BOTH, "None", 0, 0, false, "12.1"),
  // RFC 7143 §12.1.3: CHAP exchange; the authenticator, not the negotiator, answers these.
  CHAP_A("CHAP_A", ValueType.LIST, Result.AUTHENTICATION, Scope.CONNECTION, Use.SECURITY,
      Sender.BOTH, null, 0, 0, false, "12.1.3"),
  CHAP_I("CHAP_I", ValueType.TEXT, Result.AUTHENTICATION, Scope.CONNECTION, Use.SECURITY,
      Sender.BOTH, null, 0, 0, false, "12.1.3"),
  CHAP_C("CHAP_C", ValueType.TEXT, Result.AUTHENTICATION, Scope.CONNECTION, Use.SECURITY,
      Sender.BOTH, null, 0, 0, false, "12.1.3"),
  CHAP_N("CHAP_N", ValueType.TEXT, Result.AUTHENTICATION, Scope.CONNECTION, Use.SECURITY,
      Sender.BOTH, null, 0, 0, false, "12.1.3"),
  CHAP_R("CHAP_R", ValueType.TEXT, Result.AUTHENTICATION, Scope.CONNECTION, Use.SECURITY,
      Sender.BOTH, null, 0, 0, false, "12.1.3"),

  // iSER (RFC 7145 §6, after RFC 5046 §6). Both sides say Yes to run the connection in
  // iSER-assisted mode; then the two RecvDataSegmentLength keys replace MaxRecvDataSegmentLength,
  // and digests and markers are irrelevant (see Negotiation#irrelevant).
  RDMA_EXTENSIONS("RDMAExtensions", ValueType.BOOLEAN, Result.AND, Scope.SESSION, Use.LEADING_ONLY,
      Sender.BOTH, "No", 0, 0, false, "RFC 7145 §6.3"),
  // RFC 7145 §6.4: what the target's posted receive buffers hold of a data segment (per connection).
  TARGET_RECV_DATA_SEGMENT_LENGTH("TargetRecvDataSegmentLength", ValueType.NUMBER, Result.MIN, Scope.CONNECTION,
      Use.INITIALIZE_ONLY, Sender.BOTH, "8192", 512, (1 << 24) - 1, false, "RFC 7145 §6.4"),
  // RFC 7145 §6.5: what the initiator's posted receive buffers hold of a data segment.
  INITIATOR_RECV_DATA_SEGMENT_LENGTH("InitiatorRecvDataSegmentLength", ValueType.NUMBER, Result.MIN,
      Scope.CONNECTION, Use.INITIALIZE_ONLY, Sender.BOTH, "8192", 512, (1 << 24) - 1, false, "RFC 7145 §6.5"),
  // RFC 7145 §6.7: each side declares how many unexpected control PDUs it can take; 0 = no limit,
  // otherwise 2..2^32-1 (1 is illegal: the peer would deadlock on a NOP).
  MAX_OUTSTANDING_UNEXPECTED_PDUS("MaxOutstandingUnexpectedPDUs", ValueType.NUMBER, Result.DECLARATIVE,
      Scope.SESSION, Use.LEADING_ONLY, Sender.BOTH, "0", 0, 0xffffffffL, false, "RFC 7145 §6.7");

  /** Syntax of a value, RFC 7143 §6.1 and §5.1 of its key definitions. */
  public enum ValueType { BOOLEAN, NUMBER, RANGE, LIST, TEXT }

  /** How the value in force follows from an offer and an answer, RFC 7143 §6.2. */
  public enum Result {
    /** Boolean AND: Yes only if both say Yes. */
    AND,
    /** Boolean OR: Yes if either says Yes. */
    OR,
    /** Numerical minimum of offer and answer. */
    MIN,
    /** Numerical maximum of offer and answer. */
    MAX,
    /** List: the first value of the offerer's list that the responder accepts (RFC 7143 §6.2.1). */
    FIRST_ACCEPTABLE,
    /** Declared by the sender alone; no answer (RFC 7143 §6.1). */
    DECLARATIVE,
    /** Part of an authentication exchange, handled by the authenticator (RFC 7143 §12). */
    AUTHENTICATION,
    /** SendTargets: a request answered with data, not a negotiated value. */
    INQUIRY,
    /** Obsolete key, answered Reject (RFC 7143 §13.25). */
    OBSOLETE
  }

  /** RFC 7143 §13: SW (session-wide) or CO (connection-only). */
  public enum Scope { SESSION, CONNECTION }

  /** RFC 7143 §13 "Use": where a key may appear. */
  public enum Use {
    /** LO: login of the leading connection only. */
    LEADING_ONLY,
    /** IO: login only (any connection). */
    INITIALIZE_ONLY,
    /** ALL: login and Text negotiation in Full Feature Phase. */
    ALL,
    /** FFPO: Text negotiation in Full Feature Phase only. */
    FULL_FEATURE_ONLY,
    /** Security negotiation stage only (RFC 7143 §6.3.2, §12). */
    SECURITY
  }

  /** RFC 7143 §13 "Senders". */
  public enum Sender { INITIATOR, TARGET, BOTH }

  private static final Map<String, Key> BY_NAME = new HashMap<>();
  static {
    for (Key k : values()) BY_NAME.put(k.wireName, k);
  }

  public final String wireName;
  public final ValueType type;
  public final Result result;
  public final Scope scope;
  public final Use use;
  public final Sender senders;
  /** The value in force when the key was never negotiated, or null when the key has none. */
  public final String defaultValue;
  /** Legal numerical range, inclusive (NUMBER and RANGE keys). */
  public final long min;
  public final long max;
  /** RFC 7143 §13: "Irrelevant when: SessionType=Discovery". */
  public final boolean irrelevantInDiscovery;
  /** The RFC 7143 section that defines the key, or "RFC nnnn §x" for keys of another RFC. */
  public final String section;

  Key(String wireName, ValueType type, Result result, Scope scope, Use use, Sender senders, String defaultValue,
      long min, long max, boolean irrelevantInDiscovery, String section) {
    this.wireName = wireName;
    this.type = type;
    this.result = result;
    this.scope = scope;
    this.use = use;
    this.senders = senders;
    this.defaultValue = defaultValue;
    this.min = min;
    this.max = max;
    this.irrelevantInDiscovery = irrelevantInDiscovery;
    this.section = section;
  }

  /** The key with this exact (case-sensitive, RFC 7143 §6.1) name, or null for a key this table does not know. */
  public static Key of(String wireName) {
    return BY_NAME.get(wireName);
  }

  /** Where the key is defined, for messages: "RFC 7143 §13.12", "RFC 7145 §6.3". */
  public String citation() {
    return section.startsWith("RFC") ? section : "RFC 7143 §" + section;
  }

  /** The iSER keys that matter only when RDMAExtensions=Yes (RFC 7145 §6). */
  public boolean iserOnly() {
    return this == TARGET_RECV_DATA_SEGMENT_LENGTH || this == INITIATOR_RECV_DATA_SEGMENT_LENGTH
        || this == MAX_OUTSTANDING_UNEXPECTED_PDUS;
  }

  /** True for keys whose value both sides negotiate with a result function. */
  public boolean negotiated() {
    switch (result) {
      case AND: case OR: case MIN: case MAX: case FIRST_ACCEPTABLE:
        return true;
      default:
        return false;
    }
  }

  /** True if the key may be sent by the given side. */
  public boolean sentBy(boolean target) {
    return senders == Sender.BOTH || (senders == Sender.TARGET) == target;
  }

  @Override
  public String toString() {
    return wireName;
  }
}
