package io.spindle.server.config;

import io.spindle.iscsi.negotiation.NegotiationLimits;
import io.vertx.core.json.JsonObject;
import java.util.Set;

/**
 * Bounds on logins still in progress (the top-level {@code "login"} section), so that peers which
 * connect and stall, or send garbage, cannot exhaust the target before authenticating. The login
 * time limit itself is {@code negotiation.loginTimeout}.
 *
 * @param maxPerAddress connections from one source address that may be logging in at once; more are closed
 *                      on accept
 * @param maxTotal      connections that may be logging in at once, from anywhere
 * @param maxTextKeys   key=value pairs one login may carry (RFC 7143 §6.1 leaves the bound to the implementation)
 * @param maxTextBytes  bytes of key=value text one login may carry, counted before anything is kept
 * @param failureDelayMillis the answer to a failed CHAP authentication waits this long after the first
 *                      failure from a source address (or for an initiator name), doubling with each
 *                      further one up to {@link #MAX_FAILURE_DELAY_MILLIS}; 0 turns delays off
 * @param lockoutAfter  failed CHAP authentications from one source address, without a success between,
 *                      after which that address is locked out
 * @param lockoutSeconds how long a locked-out address is refused (0x0201, nothing checked)
 * @param reservedForAclPercent share of {@code maxTotal} kept for logins whose InitiatorName a target's
 *                      ACL names: a flood of unknown peers fills only the rest
 */
public record LoginLimits(int maxPerAddress, int maxTotal, int maxTextKeys, int maxTextBytes, int failureDelayMillis,
    int lockoutAfter, int lockoutSeconds, int reservedForAclPercent) {

  /** Enough for a host logging in to many targets at once (open-iscsi logs in to all nodes in parallel). */
  public static final int DEFAULT_MAX_PER_ADDRESS = 64;
  public static final int DEFAULT_MAX_TOTAL = 1024;
  public static final int DEFAULT_MAX_TEXT_KEYS = NegotiationLimits.DEFAULT_MAX_KEYS;
  public static final int DEFAULT_MAX_TEXT_BYTES = NegotiationLimits.DEFAULT_MAX_TEXT_BYTES;
  public static final int DEFAULT_FAILURE_DELAY_MILLIS = 1000;
  public static final int MAX_FAILURE_DELAY_MILLIS = 30_000;
  public static final int DEFAULT_LOCKOUT_AFTER = 10;
  public static final int DEFAULT_LOCKOUT_SECONDS = 300;
  public static final int DEFAULT_RESERVED_FOR_ACL_PERCENT = 25;

  private static final Set<String> FIELDS = Set.of("maxPerAddress", "maxTotal", "maxTextKeys", "maxTextBytes",
      "failureDelayMillis", "lockoutAfter", "lockoutSeconds", "reservedForAclPercent");

  public static LoginLimits defaults() {
    return new LoginLimits(DEFAULT_MAX_PER_ADDRESS, DEFAULT_MAX_TOTAL, DEFAULT_MAX_TEXT_KEYS, DEFAULT_MAX_TEXT_BYTES,
        DEFAULT_FAILURE_DELAY_MILLIS, DEFAULT_LOCKOUT_AFTER, DEFAULT_LOCKOUT_SECONDS, DEFAULT_RESERVED_FOR_ACL_PERCENT);
  }

  static LoginLimits fromJson(JsonObject root) {
    Object v = root.getValue("login");
    if (v == null) return defaults();
    if (!(v instanceof JsonObject j)) throw new ConfigException("login: must be an object");
    for (String k : j.fieldNames()) {
      if (!FIELDS.contains(k)) throw new ConfigException("login." + k + ": unknown field (known: " + FIELDS + ")");
    }
    int perAddress = NegotiationOptions.range(j, "login", "maxPerAddress", DEFAULT_MAX_PER_ADDRESS, 1, 65536);
    int total = NegotiationOptions.range(j, "login", "maxTotal", DEFAULT_MAX_TOTAL, 1, 65536);
    if (perAddress > total) {
      throw new ConfigException("login.maxPerAddress: " + perAddress + " exceeds login.maxTotal " + total);
    }
    return new LoginLimits(perAddress, total,
        NegotiationOptions.range(j, "login", "maxTextKeys", DEFAULT_MAX_TEXT_KEYS, 16, 4096),
        // A CHAP exchange alone needs about 2.2 KB (RFC 7143 §12.1.3: binary values up to 1024 bytes).
        NegotiationOptions.range(j, "login", "maxTextBytes", DEFAULT_MAX_TEXT_BYTES, 8192, 1 << 20),
        NegotiationOptions.range(j, "login", "failureDelayMillis", DEFAULT_FAILURE_DELAY_MILLIS, 0,
            MAX_FAILURE_DELAY_MILLIS),
        NegotiationOptions.range(j, "login", "lockoutAfter", DEFAULT_LOCKOUT_AFTER, 1, 1_000_000),
        NegotiationOptions.range(j, "login", "lockoutSeconds", DEFAULT_LOCKOUT_SECONDS, 0, 86_400),
        NegotiationOptions.range(j, "login", "reservedForAclPercent", DEFAULT_RESERVED_FOR_ACL_PERCENT, 0, 90));
  }

  public NegotiationLimits negotiationLimits() {
    return new NegotiationLimits(maxTextKeys, maxTextBytes);
  }

  JsonObject toJson() {
    return new JsonObject().put("maxPerAddress", maxPerAddress).put("maxTotal", maxTotal)
        .put("maxTextKeys", maxTextKeys).put("maxTextBytes", maxTextBytes)
        .put("failureDelayMillis", failureDelayMillis).put("lockoutAfter", lockoutAfter)
        .put("lockoutSeconds", lockoutSeconds).put("reservedForAclPercent", reservedForAclPercent);
  }

  /** Logins in progress kept for initiators an ACL names ({@link #reservedForAclPercent} of maxTotal). */
  public int reserved() {
    return maxTotal * reservedForAclPercent / 100;
  }
}
