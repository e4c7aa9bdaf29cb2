package io.spindle.initiator;

import io.spindle.iscsi.text.TextKeys;
import java.util.List;

/**
 * The operational parameters a login settled on (RFC 7143 §13).
 *
 * @param targetMaxRecvDataSegmentLength what the target declared: the largest data segment this
 *     initiator may send it (RFC 7143 §13.12), 8192 when it declared nothing
 * @param maxRecvDataSegmentLength what this initiator declared
 * @param targetKeys every key=value the target sent during login, in order
 * @param maxConnections connections the session may have (RFC 7143 §13.2)
 * @param defaultTime2Wait seconds to wait after a connection loss before logout or reassignment (§13.15)
 * @param defaultTime2Retain seconds after that during which the target keeps the connection's tasks (§13.16)
 * @param dataPduInOrder Data PDUs in increasing buffer offset within a sequence (§13.18)
 * @param rdmaExtensions the session runs in iSER-assisted mode (RFC 7145 §6.3, leading-only: every
 *     connection of the session does)
 */
public record NegotiatedParameters(
    boolean headerDigest,
    boolean dataDigest,
    int maxRecvDataSegmentLength,
    int targetMaxRecvDataSegmentLength,
    boolean immediateData,
    boolean initialR2t,
    int firstBurstLength,
    int maxBurstLength,
    int maxOutstandingR2t,
    int errorRecoveryLevel,
    List<TextKeys.Pair> targetKeys,
    int maxConnections,
    int defaultTime2Wait,
    int defaultTime2Retain,
    boolean dataPduInOrder,
    boolean rdmaExtensions) {

  public NegotiatedParameters {
    targetKeys = List.copyOf(targetKeys);
  }

  /** Parameters of an iSCSI/TCP session (RDMAExtensions=No). */
  public NegotiatedParameters(boolean headerDigest, boolean dataDigest, int maxRecvDataSegmentLength,
      int targetMaxRecvDataSegmentLength, boolean immediateData, boolean initialR2t, int firstBurstLength,
      int maxBurstLength, int maxOutstandingR2t, int errorRecoveryLevel, List<TextKeys.Pair> targetKeys,
      int maxConnections, int defaultTime2Wait, int defaultTime2Retain, boolean dataPduInOrder) {
    this(headerDigest, dataDigest, maxRecvDataSegmentLength, targetMaxRecvDataSegmentLength, immediateData,
        initialR2t, firstBurstLength, maxBurstLength, maxOutstandingR2t, errorRecoveryLevel, targetKeys,
        maxConnections, defaultTime2Wait, defaultTime2Retain, dataPduInOrder, false);
  }

  /** The parameters of a single-connection ERL 0 session with the RFC 7143 §13 defaults for the rest. */
  public NegotiatedParameters(boolean headerDigest, boolean dataDigest, int maxRecvDataSegmentLength,
      int targetMaxRecvDataSegmentLength, boolean immediateData, boolean initialR2t, int firstBurstLength,
      int maxBurstLength, int maxOutstandingR2t, int errorRecoveryLevel, List<TextKeys.Pair> targetKeys) {
    this(headerDigest, dataDigest, maxRecvDataSegmentLength, targetMaxRecvDataSegmentLength, immediateData,
        initialR2t, firstBurstLength, maxBurstLength, maxOutstandingR2t, errorRecoveryLevel, targetKeys, 1, 2, 20,
        true);
  }

  /** The same session values with another connection's digests and segment lengths (RFC 7143 §13: CO keys). */
  public NegotiatedParameters withConnection(boolean headerDigest, boolean dataDigest, int maxRecv,
      int targetMaxRecv) {
    return new NegotiatedParameters(headerDigest, dataDigest, maxRecv, targetMaxRecv, immediateData, initialR2t,
        firstBurstLength, maxBurstLength, maxOutstandingR2t, errorRecoveryLevel, targetKeys, maxConnections,
        defaultTime2Wait, defaultTime2Retain, dataPduInOrder, rdmaExtensions);
  }

  /** The last value the target sent for {@code key}, or null. */
  public String targetValue(String key) {
    String v = null;
    for (TextKeys.Pair p : targetKeys) {
      if (p.key().equals(key)) v = p.value();
    }
    return v;
  }
}
