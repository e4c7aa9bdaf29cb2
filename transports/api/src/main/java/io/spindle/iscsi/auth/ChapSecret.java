package io.spindle.iscsi.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;

/**
 * A CHAP secret. It never appears in {@link #toString()}, logs or exception messages; equality is
 * not defined (compare with {@link #sameAs(ChapSecret)}, which runs in constant time).
 */
public final class ChapSecret {

  /** RFC 1994 §2.2: a secret is at least one octet. */
  public static final int MIN_LENGTH = 1;
  /**
   * RFC 7143 §9.2.1 and §12.1.3 want secrets long and random enough to resist an off-line dictionary
   * attack on a captured exchange; 12 bytes (96 bits) is what initiators such as Windows ask for.
   */
  public static final int RECOMMENDED_MIN_LENGTH = 12;

  private final byte[] bytes;

  private ChapSecret(byte[] bytes) {
    if (bytes.length < MIN_LENGTH) throw new IllegalArgumentException("a CHAP secret must not be empty");
    this.bytes = bytes;
  }

  /** The UTF-8 bytes of a configured text secret. */
  public static ChapSecret of(String secret) {
    return new ChapSecret(secret.getBytes(StandardCharsets.UTF_8));
  }

  /** A secret given as bytes (copied). */
  public static ChapSecret of(byte[] secret) {
    return new ChapSecret(secret.clone());
  }

  /** True if the secret is shorter than {@link #RECOMMENDED_MIN_LENGTH}; the server may warn at startup. */
  public boolean weak() {
    return bytes.length < RECOMMENDED_MIN_LENGTH;
  }

  /** Constant-time comparison (for the RFC 7143 §12.1.3 rule that the two directions use different secrets). */
  public boolean sameAs(ChapSecret other) {
    return MessageDigest.isEqual(bytes, other.bytes);
  }

  byte[] bytes() {
    return bytes;
  }

  /** Overwrites the secret (e.g. when the configuration that held it is dropped). */
  public void destroy() {
    Arrays.fill(bytes, (byte) 0);
  }

  @Override
  public String toString() {
    return "ChapSecret[redacted]";
  }
}
