package io.spindle.server.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * One initiator a target admits: its iSCSI name, how it authenticates, and which LUNs it sees.
 *
 * @param initiator  the InitiatorName it must declare (RFC 7143 §13.5)
 * @param chap       the CHAP name and secret it must prove, or null to admit it by name alone
 * @param mutualChap the name and secret the target proves in return (mutual CHAP), or null
 * @param luns       LUN as the initiator sees it → the target's LUN; null for every LUN under its own number
 */
public record AclEntry(String initiator, ChapCredential chap, ChapCredential mutualChap, Map<Integer, Integer> luns) {

  private static final Set<String> FIELDS = Set.of("initiator", "chap", "mutualChap", "luns");

  public AclEntry {
    luns = luns == null ? null : Collections.unmodifiableMap(new TreeMap<>(luns));
  }

  static AclEntry fromJson(JsonObject j, String where, Set<Integer> targetLuns) {
    for (String k : j.fieldNames()) {
      if (!FIELDS.contains(k)) throw new ConfigException(where + "." + k + ": unknown field (known: " + FIELDS + ")");
    }
    String name = j.getValue("initiator") instanceof String s ? s : null;
    String problem = IscsiNames.problem(name);
    if (problem != null) throw new ConfigException(where + ".initiator: \"" + name + "\" " + problem);
    ChapCredential chap = ChapCredential.fromJson(j, "chap", where);
    ChapCredential mutual = ChapCredential.fromJson(j, "mutualChap", where);
    if (mutual != null && chap == null) {
      throw new ConfigException(where + ".mutualChap: needs \"chap\" too (the target answers only an authenticated initiator)");
    }
    if (mutual != null && mutual.sameSecret(chap)) {
      throw new ConfigException(where + ".mutualChap.secret: must differ from chap.secret (RFC 7143 §9.2.1)");
    }
    return new AclEntry(name, chap, mutual, lunMap(j.getValue("luns"), where + ".luns", targetLuns));
  }

  /** {@code [0, 1]} (same numbers) or {@code [{"lun": 0, "targetLun": 3}]} (the initiator's LUN 0 is LUN 3). */
  private static Map<Integer, Integer> lunMap(Object v, String where, Set<Integer> targetLuns) {
    if (v == null) return null;
    if (!(v instanceof JsonArray a) || a.isEmpty()) throw new ConfigException(where + ": must be a non-empty list");
    Map<Integer, Integer> m = new TreeMap<>();
    for (int i = 0; i < a.size(); i++) {
      String w = where + "[" + i + "]";
      int lun;
      int targetLun;
      Object e = a.getValue(i);
      if (e instanceof Number) {
        lun = NegotiationOptions.range(new JsonObject().put("lun", e), w, "lun", 0, 0, 16383);
        targetLun = lun;
      } else if (e instanceof JsonObject o) {
        for (String k : o.fieldNames()) {
          if (!k.equals("lun") && !k.equals("targetLun")) {
            throw new ConfigException(w + "." + k + ": unknown field (known: [lun, targetLun])");
          }
        }
        if (o.getValue("lun") == null) throw new ConfigException(w + ".lun: required");
        lun = NegotiationOptions.range(o, w, "lun", 0, 0, 16383);
        targetLun = NegotiationOptions.range(o, w, "targetLun", lun, 0, 16383);
      } else {
        throw new ConfigException(w + ": must be a LUN number or {\"lun\": N, \"targetLun\": M}");
      }
      if (!targetLuns.contains(targetLun)) throw new ConfigException(w + ": the target has no LUN " + targetLun);
      if (m.put(lun, targetLun) != null) throw new ConfigException(w + ": LUN " + lun + " is mapped twice");
    }
    return m;
  }

  public JsonObject toJson(boolean withSecrets) {
    JsonObject j = new JsonObject().put("initiator", initiator);
    if (chap != null) j.put("chap", chap.toJson(withSecrets));
    if (mutualChap != null) j.put("mutualChap", mutualChap.toJson(withSecrets));
    if (luns != null) {
      JsonArray a = new JsonArray();
      luns.forEach((l, t) -> a.add(l.equals(t) ? (Object) l : new JsonObject().put("lun", l).put("targetLun", t)));
      j.put("luns", a);
    }
    return j;
  }
}
