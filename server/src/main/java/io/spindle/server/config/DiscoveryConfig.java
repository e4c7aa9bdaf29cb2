package io.spindle.server.config;

import io.spindle.iscsi.auth.ChapAlgorithm;
import io.spindle.iscsi.auth.ChapAuthenticator;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Set;

/**
 * Discovery sessions (RFC 7143 §4.3, SendTargets §12.3): the top-level {@code "discovery"} section.
 * Without {@code chap} any initiator may open one; with it, the initiator must authenticate with that
 * CHAP name and secret (and, with {@code mutualChap}, the target proves itself in return). Either way
 * SendTargets lists only the targets whose ACL admits the initiator's name.
 */
public record DiscoveryConfig(ChapCredential chap, ChapCredential mutualChap, List<ChapAlgorithm> chapAlgorithms) {

  private static final Set<String> FIELDS = Set.of("chap", "mutualChap", "chapAlgorithms");

  public static DiscoveryConfig open() {
    return new DiscoveryConfig(null, null, ChapAuthenticator.DEFAULT_ALGORITHMS);
  }

  static DiscoveryConfig fromJson(JsonObject root) {
    Object v = root.getValue("discovery");
    if (v == null) return open();
    if (!(v instanceof JsonObject j)) throw new ConfigException("discovery: must be an object");
    for (String k : j.fieldNames()) {
      if (!FIELDS.contains(k)) throw new ConfigException("discovery." + k + ": unknown field (known: " + FIELDS + ")");
    }
    ChapCredential chap = ChapCredential.fromJson(j, "chap", "discovery");
    ChapCredential mutual = ChapCredential.fromJson(j, "mutualChap", "discovery");
    if (mutual != null && chap == null) throw new ConfigException("discovery.mutualChap: needs \"chap\" too");
    if (mutual != null && mutual.sameSecret(chap)) {
      throw new ConfigException("discovery.mutualChap.secret: must differ from chap.secret (RFC 7143 §9.2.1)");
    }
    return new DiscoveryConfig(chap, mutual, ChapAlgorithms.fromJson(j, "discovery"));
  }

  JsonObject toJson(boolean withSecrets) {
    JsonObject j = new JsonObject();
    if (chap != null) j.put("chap", chap.toJson(withSecrets));
    if (mutualChap != null) j.put("mutualChap", mutualChap.toJson(withSecrets));
    return j.put("chapAlgorithms", new JsonArray(ChapAlgorithms.names(chapAlgorithms)));
  }
}
