package io.spindle.iscsi.auth;

/**
 * A CHAP name (CHAP_N) and its secret: the initiator's own for one-way CHAP, the target's for mutual
 * CHAP. {@code toString} shows the name only.
 */
public record ChapIdentity(String name, ChapSecret secret) {

  public ChapIdentity {
    if (name == null || name.isEmpty()) throw new IllegalArgumentException("CHAP name required");
    if (name.indexOf('\0') >= 0) throw new IllegalArgumentException("CHAP name contains NUL");
    if (Chap.utf8Length(name) > Chap.MAX_NAME_LENGTH) {
      throw new IllegalArgumentException("CHAP name longer than " + Chap.MAX_NAME_LENGTH + " bytes");
    }
    if (secret == null) throw new IllegalArgumentException("CHAP secret required");
  }

  @Override
  public String toString() {
    return "ChapIdentity[" + name + "]";
  }
}
