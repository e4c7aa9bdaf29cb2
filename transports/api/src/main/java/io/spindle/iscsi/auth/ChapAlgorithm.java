package io.spindle.iscsi.auth;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The one-way hash of a CHAP exchange, named by its CHAP_A value: the PPP authentication algorithm
 * numbers IANA assigns (RFC 1994 §3 for MD5; SHA-1, SHA-256 and SHA3-256 were added to the registry
 * for iSCSI and are what Linux LIO and open-iscsi offer).
 */
public enum ChapAlgorithm {
  MD5(5, "MD5", 16),
  SHA1(6, "SHA-1", 20),
  SHA256(7, "SHA-256", 32),
  SHA3_256(8, "SHA3-256", 32);

  /** The CHAP_A value. */
  public final int code;
  /** The name of the {@link MessageDigest}. */
  public final String digestName;
  /** Bytes of a response (CHAP_R). */
  public final int digestLength;

  ChapAlgorithm(int code, String digestName, int digestLength) {
    this.code = code;
    this.digestName = digestName;
    this.digestLength = digestLength;
  }

  /** The algorithm with the given CHAP_A value, or null for a value this implementation does not know. */
  public static ChapAlgorithm of(int code) {
    for (ChapAlgorithm a : values()) {
      if (a.code == code) return a;
    }
    return null;
  }

  /**
   * The CHAP response: the hash of the identifier octet, the secret and the challenge, in that order
   * (RFC 1994 §4.1, RFC 7143 §12.1.3).
   */
  public byte[] response(int identifier, byte[] secret, byte[] challenge) {
    if (identifier < 0 || identifier > 255) throw new IllegalArgumentException("identifier outside 0..255");
    MessageDigest md = newDigest();
    md.update((byte) identifier);
    md.update(secret);
    md.update(challenge);
    return md.digest();
  }

  private MessageDigest newDigest() {
    try {
      return MessageDigest.getInstance(digestName);
    } catch (NoSuchAlgorithmException e) {
      // Every Java 17 runtime must provide MD5, SHA-1 and SHA-256; SHA3-256 is in the default provider.
      throw new IllegalStateException(digestName + " is not available in this Java runtime", e);
    }
  }
}
