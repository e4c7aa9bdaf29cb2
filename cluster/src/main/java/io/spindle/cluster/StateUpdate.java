package io.spindle.cluster;

import java.io.Serializable;

/**
 * The one place for the store's write rules, applied atomically to the stored bytes of one
 * session by every {@link StateStore} (a map compute in memory, an entry processor in Hazelcast).
 * Serializable so Hazelcast can run it where the entry lives.
 *
 * @param kind what to do
 * @param value the new stored form (CREATE, UPDATE), or null
 * @param epoch the epoch the caller believes in (UPDATE, TAKEOVER, REMOVE)
 * @param owner the caller's node (UPDATE, REMOVE), or the new owner (TAKEOVER)
 */
public record StateUpdate(Kind kind, byte[] value, long epoch, String owner) implements Serializable {

  public enum Kind { CREATE, UPDATE, TAKEOVER, REMOVE }

  /**
   * What the rule decided: the bytes to store ({@code keep} true: unchanged; null: remove) and the
   * answer for the caller (Boolean, or the new stored form for TAKEOVER, null if refused).
   */
  public record Outcome(boolean keep, byte[] store, Object answer) {
  }

  public Outcome apply(byte[] current) {
    switch (kind) {
      case CREATE:
        return current == null ? new Outcome(false, value, true) : new Outcome(true, null, false);
      case UPDATE: {
        if (current == null || !held(current)) return new Outcome(true, null, false);
        return new Outcome(false, value, true);
      }
      case REMOVE: {
        if (current == null || !held(current)) return new Outcome(true, null, false);
        return new Outcome(false, null, true);
      }
      case TAKEOVER: {
        if (current == null || SessionState.fence(current).epoch() != epoch) return new Outcome(true, null, null);
        byte[] moved = SessionState.decode(current).movedTo(owner).encode();
        return new Outcome(false, moved, moved);
      }
      default:
        throw new IllegalStateException(kind.toString());
    }
  }

  private boolean held(byte[] current) {
    SessionState.Fence f = SessionState.fence(current);
    return f.epoch() == epoch && f.owner().equals(owner);
  }
}
