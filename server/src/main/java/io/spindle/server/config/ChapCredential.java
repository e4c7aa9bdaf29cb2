package io.spindle.server.config;

import io.spindle.iscsi.auth.ChapIdentity;
import io.spindle.iscsi.auth.ChapSecret;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/**
 * A CHAP name and secret from the configuration ({@code {"user": "...", "secret": "..."}}; the
 * secret may instead be {@code {"file": PATH}} or {@code {"env": NAME}}, see {@link SecretSource}).
 * The secret never appears in {@link #toString()}; {@link #toJson(boolean)} writes it only when
 * asked to, and a secret from a file or variable is written back as that reference.
 *
 * @param source where the secret came from; null for one given in code
 */
public record ChapCredential(String user, String secret, SecretSource source) {

  public ChapCredential(String user, String secret) {
    this(user, secret, null);
  }

  /**
   * RFC 7143 §9.2.1 wants secrets that resist an off-line dictionary attack on a captured exchange;
   * 12 bytes is the shortest Windows and LIO accept, so shorter ones are configuration errors.
   */
  public static final int MIN_SECRET_LENGTH = ChapSecret.RECOMMENDED_MIN_LENGTH;
  /** RFC 7143 §6.1: CHAP_N is a text value of at most 255 bytes. */
  public static final int MAX_USER_LENGTH = 255;
  public static final int MAX_SECRET_LENGTH = 1024;
  static final String REDACTED = "(redacted)";

  private static final Set<String> FIELDS = Set.of("user", "secret");

  /** The credential at {@code where}, or null when the field is absent. */
  static ChapCredential fromJson(JsonObject parent, String key, String where) {
    Object v = parent.getValue(key);
    if (v == null) return null;
    String w = where + "." + key;
    if (!(v instanceof JsonObject j)) throw new ConfigException(w + ": must be an object {\"user\": ..., \"secret\": ...}");
    for (String k : j.fieldNames()) {
      if (!FIELDS.contains(k)) throw new ConfigException(w + "." + k + ": unknown field (known: " + FIELDS + ")");
    }
    if (!(j.getValue("user") instanceof String user) || user.isEmpty()
        || user.getBytes(StandardCharsets.UTF_8).length > MAX_USER_LENGTH || user.indexOf('\0') >= 0) {
      throw new ConfigException(w + ".user: required, a name of 1.." + MAX_USER_LENGTH + " bytes");
    }
    // The message never repeats the secret, only what is wrong with it.
    Object sv = j.getValue("secret");
    if (sv == null) throw new ConfigException(w + ".secret: required, a string, {\"file\": PATH} or {\"env\": NAME}");
    SecretSource source = SecretSource.fromJson(sv, w + ".secret");
    String secret = source.read(w + ".secret");
    int n = secret.getBytes(StandardCharsets.UTF_8).length;
    if (REDACTED.equals(secret)) {
      throw new ConfigException(w + ".secret: is the redacted placeholder of an exported config; give the real secret");
    }
    if (n < MIN_SECRET_LENGTH || n > MAX_SECRET_LENGTH) {
      throw new ConfigException(w + ".secret: must be " + MIN_SECRET_LENGTH + ".." + MAX_SECRET_LENGTH
          + " bytes (RFC 7143 §9.2.1: long enough to resist guessing); this one is " + n);
    }
    return new ChapCredential(user, secret, source.inline() == null ? source : null);
  }

  public ChapIdentity identity() {
    return new ChapIdentity(user, ChapSecret.of(secret));
  }

  /** True if both credentials use the same secret (RFC 7143 §9.2.1 forbids it across directions). */
  boolean sameSecret(ChapCredential other) {
    return ChapSecret.of(secret).sameAs(ChapSecret.of(other.secret));
  }

  public JsonObject toJson(boolean withSecret) {
    Object s = source != null ? source.toJson(withSecret, REDACTED) : withSecret ? secret : REDACTED;
    return new JsonObject().put("user", user).put("secret", s);
  }

  @Override
  public String toString() {
    return "ChapCredential[" + user + "]";
  }
}
