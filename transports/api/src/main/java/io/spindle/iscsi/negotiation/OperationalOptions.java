package io.spindle.iscsi.negotiation;

import java.util.EnumMap;
import java.util.Map;

/**
 * One side's own limits and wishes for the negotiated keys. The same object serves the target
 * (what it can accept: the highest values for minimum keys, the values it accepts for lists)
 * and the initiator (what it offers: list order is its preference). Setters check RFC 7143 §13
 * ranges at once, so a bad configuration fails at startup, not at a login.
 */
public final class OperationalOptions {

  /** Digests in preference order; None first means "no digest unless the peer insists". */
  public static final String DEFAULT_DIGESTS = "None,CRC32C";
  /** What this side can receive in one data segment (RFC 7143 §13.12); 256 KiB as open-iscsi uses. */
  public static final int DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH = 262144;
  /** RFC 7143 §13.13 default. */
  public static final int DEFAULT_MAX_BURST_LENGTH = 262144;
  /** RFC 7143 §13.14 default. */
  public static final int DEFAULT_FIRST_BURST_LENGTH = 65536;
  public static final int DEFAULT_MAX_OUTSTANDING_R2T = 1;
  public static final int DEFAULT_MAX_CONNECTIONS = 1;
  public static final int DEFAULT_ERROR_RECOVERY_LEVEL = 0;
  /** False: this side does not insist on an R2T before the first burst (the peer's Yes still wins, OR). */
  public static final boolean DEFAULT_INITIAL_R2T = false;
  public static final boolean DEFAULT_IMMEDIATE_DATA = true;
  /** True: in-order data, the RFC default; a side that copes with out-of-order data may say false. */
  public static final boolean DEFAULT_DATA_PDU_IN_ORDER = true;
  public static final boolean DEFAULT_DATA_SEQUENCE_IN_ORDER = true;
  public static final int DEFAULT_TIME2WAIT = 2;
  public static final int DEFAULT_TIME2RETAIN = 20;
  /** RFC 7143 is protocol level 1 (RFC 7143 §13.24); level 2 needs the RFC 7144 features. */
  public static final int DEFAULT_PROTOCOL_LEVEL = 1;
  public static final String DEFAULT_TASK_REPORTING = "RFC3720";
  public static final String DEFAULT_AUTH_METHODS = "None";
  /** iSCSI/TCP unless a portal (or initiator) runs iSER (RFC 7145 §6.3). */
  public static final boolean DEFAULT_RDMA_EXTENSIONS = false;
  /** RFC 7145 §6.4-§6.5 defaults: what login-time receive buffers hold. */
  public static final int DEFAULT_TARGET_RECV_DATA_SEGMENT_LENGTH = 8192;
  public static final int DEFAULT_INITIATOR_RECV_DATA_SEGMENT_LENGTH = 8192;
  /** RFC 7145 §6.7: 0, no declaration (no limit). */
  public static final long DEFAULT_MAX_OUTSTANDING_UNEXPECTED_PDUS = 0;

  private final EnumMap<Key, String> values = new EnumMap<>(Key.class);

  public OperationalOptions() {
    set(Key.HEADER_DIGEST, DEFAULT_DIGESTS);
    set(Key.DATA_DIGEST, DEFAULT_DIGESTS);
    set(Key.MAX_RECV_DATA_SEGMENT_LENGTH, Integer.toString(DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH));
    set(Key.MAX_BURST_LENGTH, Integer.toString(DEFAULT_MAX_BURST_LENGTH));
    set(Key.FIRST_BURST_LENGTH, Integer.toString(DEFAULT_FIRST_BURST_LENGTH));
    set(Key.MAX_OUTSTANDING_R2T, Integer.toString(DEFAULT_MAX_OUTSTANDING_R2T));
    set(Key.MAX_CONNECTIONS, Integer.toString(DEFAULT_MAX_CONNECTIONS));
    set(Key.ERROR_RECOVERY_LEVEL, Integer.toString(DEFAULT_ERROR_RECOVERY_LEVEL));
    set(Key.INITIAL_R2T, Values.bool(DEFAULT_INITIAL_R2T));
    set(Key.IMMEDIATE_DATA, Values.bool(DEFAULT_IMMEDIATE_DATA));
    set(Key.DATA_PDU_IN_ORDER, Values.bool(DEFAULT_DATA_PDU_IN_ORDER));
    set(Key.DATA_SEQUENCE_IN_ORDER, Values.bool(DEFAULT_DATA_SEQUENCE_IN_ORDER));
    set(Key.DEFAULT_TIME2WAIT, Integer.toString(DEFAULT_TIME2WAIT));
    set(Key.DEFAULT_TIME2RETAIN, Integer.toString(DEFAULT_TIME2RETAIN));
    set(Key.ISCSI_PROTOCOL_LEVEL, Integer.toString(DEFAULT_PROTOCOL_LEVEL));
    set(Key.TASK_REPORTING, DEFAULT_TASK_REPORTING);
    set(Key.AUTH_METHOD, DEFAULT_AUTH_METHODS);
    set(Key.RDMA_EXTENSIONS, Values.bool(DEFAULT_RDMA_EXTENSIONS));
    set(Key.TARGET_RECV_DATA_SEGMENT_LENGTH, Integer.toString(DEFAULT_TARGET_RECV_DATA_SEGMENT_LENGTH));
    set(Key.INITIATOR_RECV_DATA_SEGMENT_LENGTH, Integer.toString(DEFAULT_INITIATOR_RECV_DATA_SEGMENT_LENGTH));
    set(Key.MAX_OUTSTANDING_UNEXPECTED_PDUS, Long.toString(DEFAULT_MAX_OUTSTANDING_UNEXPECTED_PDUS));
  }

  /** Copy constructor. */
  public OperationalOptions(OperationalOptions other) {
    values.putAll(other.values);
  }

  /**
   * Sets this side's value for a negotiated key or for MaxRecvDataSegmentLength.
   *
   * @throws IllegalArgumentException if the key is not one a side configures or the value is illegal for it
   */
  public OperationalOptions set(Key key, String value) {
    if (!key.negotiated() && key != Key.MAX_RECV_DATA_SEGMENT_LENGTH && key != Key.MAX_OUTSTANDING_UNEXPECTED_PDUS) {
      throw new IllegalArgumentException(key + " is not a negotiated key");
    }
    if (!Values.valid(key, value)) {
      throw new IllegalArgumentException("illegal " + key + " value \"" + value + "\" (" + key.citation() + ")");
    }
    values.put(key, value);
    return this;
  }

  public String get(Key key) {
    return values.get(key);
  }

  public OperationalOptions headerDigest(String list) {
    return set(Key.HEADER_DIGEST, list);
  }

  public OperationalOptions dataDigest(String list) {
    return set(Key.DATA_DIGEST, list);
  }

  public OperationalOptions maxRecvDataSegmentLength(int v) {
    return set(Key.MAX_RECV_DATA_SEGMENT_LENGTH, Integer.toString(v));
  }

  public OperationalOptions maxBurstLength(int v) {
    return set(Key.MAX_BURST_LENGTH, Integer.toString(v));
  }

  public OperationalOptions firstBurstLength(int v) {
    return set(Key.FIRST_BURST_LENGTH, Integer.toString(v));
  }

  public OperationalOptions maxOutstandingR2T(int v) {
    return set(Key.MAX_OUTSTANDING_R2T, Integer.toString(v));
  }

  public OperationalOptions maxConnections(int v) {
    return set(Key.MAX_CONNECTIONS, Integer.toString(v));
  }

  public OperationalOptions errorRecoveryLevel(int v) {
    return set(Key.ERROR_RECOVERY_LEVEL, Integer.toString(v));
  }

  public OperationalOptions initialR2T(boolean v) {
    return set(Key.INITIAL_R2T, Values.bool(v));
  }

  public OperationalOptions immediateData(boolean v) {
    return set(Key.IMMEDIATE_DATA, Values.bool(v));
  }

  public OperationalOptions dataPduInOrder(boolean v) {
    return set(Key.DATA_PDU_IN_ORDER, Values.bool(v));
  }

  public OperationalOptions dataSequenceInOrder(boolean v) {
    return set(Key.DATA_SEQUENCE_IN_ORDER, Values.bool(v));
  }

  public OperationalOptions defaultTime2Wait(int v) {
    return set(Key.DEFAULT_TIME2WAIT, Integer.toString(v));
  }

  public OperationalOptions defaultTime2Retain(int v) {
    return set(Key.DEFAULT_TIME2RETAIN, Integer.toString(v));
  }

  public OperationalOptions protocolLevel(int v) {
    return set(Key.ISCSI_PROTOCOL_LEVEL, Integer.toString(v));
  }

  public OperationalOptions taskReporting(String list) {
    return set(Key.TASK_REPORTING, list);
  }

  public OperationalOptions authMethods(String list) {
    return set(Key.AUTH_METHOD, list);
  }

  /**
   * iSER-assisted mode (RFC 7145 §6.3): a target on an iSER portal, or an initiator connecting over
   * RDMA, says Yes; on iSCSI/TCP it stays No.
   */
  public OperationalOptions rdmaExtensions(boolean v) {
    return set(Key.RDMA_EXTENSIONS, Values.bool(v));
  }

  /** RFC 7145 §6.4: the data segment the target's receive buffers hold (target: its limit). */
  public OperationalOptions targetRecvDataSegmentLength(int v) {
    return set(Key.TARGET_RECV_DATA_SEGMENT_LENGTH, Integer.toString(v));
  }

  /** RFC 7145 §6.5: the data segment the initiator's receive buffers hold (initiator: its limit). */
  public OperationalOptions initiatorRecvDataSegmentLength(int v) {
    return set(Key.INITIATOR_RECV_DATA_SEGMENT_LENGTH, Integer.toString(v));
  }

  /** RFC 7145 §6.7: declared when not 0 and the connection runs iSER. */
  public OperationalOptions maxOutstandingUnexpectedPdus(long v) {
    return set(Key.MAX_OUTSTANDING_UNEXPECTED_PDUS, Long.toString(v));
  }

  /** A snapshot of the values, after checking the rules between keys. */
  Map<Key, String> snapshot() {
    // RFC 7143 §13.14: FirstBurstLength MUST NOT exceed MaxBurstLength.
    if (Values.parseNumber(values.get(Key.FIRST_BURST_LENGTH)) > Values.parseNumber(values.get(Key.MAX_BURST_LENGTH))) {
      throw new IllegalArgumentException("FirstBurstLength " + values.get(Key.FIRST_BURST_LENGTH)
          + " exceeds MaxBurstLength " + values.get(Key.MAX_BURST_LENGTH));
    }
    return new EnumMap<>(values);
  }
}
