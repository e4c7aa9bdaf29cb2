package io.spindle.server.config;

import io.spindle.iscsi.datamover.PortalAddress;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The admin HTTP API ({@code "admin"}; README "Admin API"): where it listens, the bearer token every
 * request must carry, optional TLS, and the browser origins allowed to call it (none by default).
 *
 * @param address where it listens; {@value #DEFAULT_ADDRESS} when the section names none
 * @param token the bearer token's source; required to serve (checked by {@link #requireToken})
 * @param certFile PEM certificate chain for TLS, or null for plain HTTP (relative to the config file)
 * @param keyFile PEM private key for TLS, or null
 * @param allowedOrigins browser origins admitted (CORS); empty: every request carrying an Origin is refused
 */
public record AdminConfig(PortalAddress address, SecretSource token, Path certFile, Path keyFile,
    List<String> allowedOrigins) {

  /** Loopback only: an operator exposes the API elsewhere by naming an address. */
  public static final String DEFAULT_ADDRESS = "127.0.0.1:9180";

  private static final Set<String> FIELDS = Set.of("address", "token", "tls", "allowedOrigins");
  private static final Set<String> TLS_FIELDS = Set.of("certFile", "keyFile");

  public AdminConfig {
    allowedOrigins = List.copyOf(allowedOrigins);
  }

  /** The API at {@code address} with no token yet (the {@code --admin} option alone). */
  public static AdminConfig at(PortalAddress address) {
    return new AdminConfig(address, null, null, null, List.of());
  }

  public boolean tls() {
    return certFile != null;
  }

  public AdminConfig withAddress(PortalAddress a) {
    return new AdminConfig(a, token, certFile, keyFile, allowedOrigins);
  }

  public AdminConfig withToken(SecretSource t) {
    return new AdminConfig(address, t, certFile, keyFile, allowedOrigins);
  }

  public AdminConfig withTls(Path cert, Path key) {
    return new AdminConfig(address, token, cert, key, allowedOrigins);
  }

  /** The section, or null when the config has none. */
  static AdminConfig fromJson(JsonObject root) {
    Object v = root.getValue("admin");
    if (v == null) return null;
    if (!(v instanceof JsonObject j)) throw new ConfigException("admin: must be an object");
    for (String k : j.fieldNames()) {
      if (!FIELDS.contains(k)) throw new ConfigException("admin." + k + ": unknown field (known: " + FIELDS + ")");
    }
    PortalAddress address = PortalAddress.parse(DEFAULT_ADDRESS);
    Object a = j.getValue("address");
    if (a != null) {
      if (!(a instanceof String s)) throw new ConfigException("admin.address: must be \"HOST:PORT\"");
      try {
        address = PortalAddress.parse(s);
      } catch (IllegalArgumentException e) {
        throw new ConfigException("admin.address: " + e.getMessage());
      }
    }
    Object tv = j.getValue("token");
    if (tv instanceof String) {
      throw new ConfigException("admin.token: must be {\"file\": PATH} or {\"env\": NAME}; the token itself is not"
          + " written in the config");
    }
    SecretSource token = tv == null ? null : SecretSource.fromJson(tv, "admin.token");
    Path cert = null;
    Path key = null;
    Object t = j.getValue("tls");
    if (t != null) {
      if (!(t instanceof JsonObject tj)) throw new ConfigException("admin.tls: must be {\"certFile\": ..., \"keyFile\": ...}");
      for (String k : tj.fieldNames()) {
        if (!TLS_FIELDS.contains(k)) throw new ConfigException("admin.tls." + k + ": unknown field (known: " + TLS_FIELDS + ")");
      }
      cert = path(tj, "certFile");
      key = path(tj, "keyFile");
    }
    List<String> origins = new ArrayList<>();
    Object o = j.getValue("allowedOrigins");
    if (o != null) {
      if (!(o instanceof JsonArray arr)) throw new ConfigException("admin.allowedOrigins: must be a list of origins");
      for (int i = 0; i < arr.size(); i++) {
        if (!(arr.getValue(i) instanceof String s) || !s.matches("https?://[^/\\s]+")) {
          throw new ConfigException("admin.allowedOrigins[" + i + "]: must be an origin such as \"https://ops.example.com\"");
        }
        origins.add(s);
      }
    }
    return new AdminConfig(address, token, cert, key, origins);
  }

  private static Path path(JsonObject tls, String key) {
    if (!(tls.getValue(key) instanceof String s) || s.isBlank()) {
      throw new ConfigException("admin.tls." + key + ": required, a PEM file");
    }
    return Path.of(s);
  }

  /** The token, read from its source; serving without one is refused. */
  public String requireToken() {
    if (token == null) {
      throw new ConfigException("admin.token: required to serve the admin API: {\"file\": PATH} (a file of mode 0600)"
          + " or {\"env\": NAME}, or --admin-token-file FILE");
    }
    String t = token.read("admin.token").strip();
    if (t.length() < MIN_TOKEN_LENGTH) {
      throw new ConfigException("admin.token: must be at least " + MIN_TOKEN_LENGTH + " characters (for example"
          + " `head -c 32 /dev/urandom | base64`); this one is " + t.length());
    }
    return t;
  }

  /** Shorter tokens are refused: the API changes what initiators can reach. */
  public static final int MIN_TOKEN_LENGTH = 16;

  JsonObject toJson() {
    JsonObject j = new JsonObject().put("address", address.toString());
    if (token != null) j.put("token", token.toJson(false, ChapCredential.REDACTED));
    if (certFile != null) j.put("tls", new JsonObject().put("certFile", certFile.toString()).put("keyFile", keyFile.toString()));
    if (!allowedOrigins.isEmpty()) j.put("allowedOrigins", new JsonArray(new ArrayList<>(allowedOrigins)));
    return j;
  }
}
