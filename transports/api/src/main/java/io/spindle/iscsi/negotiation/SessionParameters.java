package io.spindle.iscsi.negotiation;

import java.util.EnumMap;
import java.util.Map;
import java.util.function.Function;

/**
 * The session-wide (SW) results of a leading connection's login, RFC 7143 §13. On a discovery
 * session the keys irrelevant there keep their defaults.
 */
public record SessionParameters(
    boolean discovery,
    String initiatorName,
    String initiatorAlias,
    String targetName,
    int targetPortalGroupTag,
    int maxConnections,
    boolean initialR2T,
    boolean immediateData,
    int maxBurstLength,
    int firstBurstLength,
    int defaultTime2Wait,
    int defaultTime2Retain,
    int maxOutstandingR2T,
    boolean dataPduInOrder,
    boolean dataSequenceInOrder,
    int errorRecoveryLevel,
    String taskReporting,
    int protocolLevel,
    boolean rdmaExtensions) {

  /** The values in force before any negotiation (RFC 7143 §13 defaults), for a Normal session. */
  public static final SessionParameters DEFAULT = from(false, null, null, null, -1, k -> k.defaultValue);

  static SessionParameters from(boolean discovery, String initiatorName, String initiatorAlias, String targetName,
      int tpgt, Function<Key, String> value) {
    return new SessionParameters(discovery, initiatorName, initiatorAlias, targetName, tpgt,
        num(value, Key.MAX_CONNECTIONS),
        Values.YES.equals(value.apply(Key.INITIAL_R2T)),
        Values.YES.equals(value.apply(Key.IMMEDIATE_DATA)),
        num(value, Key.MAX_BURST_LENGTH),
        num(value, Key.FIRST_BURST_LENGTH),
        num(value, Key.DEFAULT_TIME2WAIT),
        num(value, Key.DEFAULT_TIME2RETAIN),
        num(value, Key.MAX_OUTSTANDING_R2T),
        Values.YES.equals(value.apply(Key.DATA_PDU_IN_ORDER)),
        Values.YES.equals(value.apply(Key.DATA_SEQUENCE_IN_ORDER)),
        num(value, Key.ERROR_RECOVERY_LEVEL),
        value.apply(Key.TASK_REPORTING),
        num(value, Key.ISCSI_PROTOCOL_LEVEL),
        Values.YES.equals(value.apply(Key.RDMA_EXTENSIONS)));
  }

  /** The negotiated session-wide keys as wire values, e.g. to preload the login of a further connection. */
  Map<Key, String> negotiatedValues() {
    EnumMap<Key, String> m = new EnumMap<>(Key.class);
    m.put(Key.MAX_CONNECTIONS, Integer.toString(maxConnections));
    m.put(Key.INITIAL_R2T, Values.bool(initialR2T));
    m.put(Key.IMMEDIATE_DATA, Values.bool(immediateData));
    m.put(Key.MAX_BURST_LENGTH, Integer.toString(maxBurstLength));
    m.put(Key.FIRST_BURST_LENGTH, Integer.toString(firstBurstLength));
    m.put(Key.DEFAULT_TIME2WAIT, Integer.toString(defaultTime2Wait));
    m.put(Key.DEFAULT_TIME2RETAIN, Integer.toString(defaultTime2Retain));
    m.put(Key.MAX_OUTSTANDING_R2T, Integer.toString(maxOutstandingR2T));
    m.put(Key.DATA_PDU_IN_ORDER, Values.bool(dataPduInOrder));
    m.put(Key.DATA_SEQUENCE_IN_ORDER, Values.bool(dataSequenceInOrder));
    m.put(Key.ERROR_RECOVERY_LEVEL, Integer.toString(errorRecoveryLevel));
    m.put(Key.TASK_REPORTING, taskReporting);
    m.put(Key.ISCSI_PROTOCOL_LEVEL, Integer.toString(protocolLevel));
    // RFC 7145 §6.3: RDMAExtensions is leading-only; every further connection runs in its mode.
    m.put(Key.RDMA_EXTENSIONS, Values.bool(rdmaExtensions));
    return m;
  }

  private static int num(Function<Key, String> value, Key key) {
    return (int) Values.parseNumber(value.apply(key));
  }
}
