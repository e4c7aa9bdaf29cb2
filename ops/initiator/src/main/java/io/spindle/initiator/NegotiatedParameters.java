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
    List<TextKeys.Pair> targetKeys) {

  public NegotiatedParameters {
    targetKeys = List.copyOf(targetKeys);
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
