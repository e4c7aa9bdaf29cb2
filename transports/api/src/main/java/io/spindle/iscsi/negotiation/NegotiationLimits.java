package io.spindle.iscsi.negotiation;

/**
 * Bounds on what one negotiation (a whole login, or one Text request sequence) may carry,
 * enforced before anything is kept (ARCHITECTURE.md: limits before allocation). The server
 * should also stop joining continued (C bit) PDUs once {@link #maxTextBytes()} is exceeded.
 *
 * @param maxKeys      key=value pairs the peer may send in one negotiation
 * @param maxTextBytes bytes of key=value text (keys, '=', values and NULs) the peer may send in one negotiation
 */
public record NegotiationLimits(int maxKeys, int maxTextBytes) {

  /** A login of Linux open-iscsi sends about 25 keys; a CHAP exchange adds 5. */
  public static final int DEFAULT_MAX_KEYS = 128;
  /** Enough for every key at its longest legal value plus CHAP challenges of 1024 bytes. */
  public static final int DEFAULT_MAX_TEXT_BYTES = 64 * 1024;
  public static final NegotiationLimits DEFAULT = new NegotiationLimits(DEFAULT_MAX_KEYS, DEFAULT_MAX_TEXT_BYTES);

  public NegotiationLimits {
    if (maxKeys < 1 || maxTextBytes < 64) {
      throw new IllegalArgumentException("limits too small: " + maxKeys + " keys, " + maxTextBytes + " bytes");
    }
  }
}
