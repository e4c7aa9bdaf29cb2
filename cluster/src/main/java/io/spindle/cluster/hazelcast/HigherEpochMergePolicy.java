package io.spindle.cluster.hazelcast;

import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.spi.merge.MergingValue;
import com.hazelcast.spi.merge.SplitBrainMergePolicy;
import io.spindle.cluster.SessionState;

/**
 * How two halves of a split cluster agree on a session when they merge again (a node that was
 * stopped and continued, a partition that healed): the copy with the higher epoch wins — it was
 * written by the node that took the session over last. Hazelcast's default (put if absent) would
 * keep whichever copy the surviving half had, even a deposed owner's, and the node that really
 * serves the session would then see its next write refused and drop it.
 */
public final class HigherEpochMergePolicy implements SplitBrainMergePolicy<byte[], MergingValue<byte[]>, Object> {

  @Override
  public Object merge(MergingValue<byte[]> merging, MergingValue<byte[]> existing) {
    if (existing == null) return merging.getRawValue();
    byte[] m = merging.getValue();
    byte[] e = existing.getValue();
    if (e == null) return merging.getRawValue();
    if (m == null) return existing.getRawValue();
    return SessionState.fence(m).epoch() > SessionState.fence(e).epoch() ? merging.getRawValue() : existing.getRawValue();
  }

  @Override
  public void writeData(ObjectDataOutput out) {
    // no state
  }

  @Override
  public void readData(ObjectDataInput in) {
    // no state
  }
}
