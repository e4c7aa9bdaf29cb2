package io.spindle.server.config;

import io.spindle.iscsi.auth.ChapAlgorithm;
import io.spindle.iscsi.auth.ChapAuthenticator;
import io.spindle.scsi.LunOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A target: its iSCSI name, optional alias, LUNs, and who may log in to it.
 *
 * @param luns           LUN number to logical unit options, in LUN order
 * @param acl            the initiators admitted, or null for any initiator without authentication
 *                       ({@code "acl": "any"}; the config file must say so, see {@link #fromJson})
 * @param chapAlgorithms the CHAP algorithms the target accepts, in its order of preference
 */
public record TargetConfig(String name, String alias, Map<Integer, LunOptions> luns, List<AclEntry> acl,
    List<ChapAlgorithm> chapAlgorithms) {

  /** The value of {@code "acl"} that admits every initiator without authentication. */
  public static final String ACL_ANY = "any";

  private static final Set<String> FIELDS = Set.of("name", "alias", "luns", "acl", "chapAlgorithms");

  public TargetConfig {
    acl = acl == null ? null : List.copyOf(acl);
    chapAlgorithms = List.copyOf(chapAlgorithms);
  }

  /** A target open to any initiator without authentication (the built-in demo, embedding tests). */
  public TargetConfig(String name, String alias, Map<Integer, LunOptions> luns) {
    this(name, alias, luns, null, ChapAuthenticator.DEFAULT_ALGORITHMS);
  }

  /** The ACL entry admitting {@code initiator}, or null; always null for an open target. */
  public AclEntry aclEntry(String initiator) {
    if (acl == null) return null;
    for (AclEntry e : acl) {
      if (e.initiator().equals(initiator)) return e;
    }
    return null;
  }

  public static TargetConfig fromJson(JsonObject j, String where) {
    for (String k : j.fieldNames()) {
      if (!FIELDS.contains(k)) throw new ConfigException(where + "." + k + ": unknown field (known: " + FIELDS + ")");
    }
    String name = j.getValue("name") instanceof String s ? s : null;
    String problem = IscsiNames.problem(name);
    if (problem != null) throw new ConfigException(where + ".name: \"" + name + "\" " + problem);
    Object alias = j.getValue("alias");
    if (alias != null && !(alias instanceof String)) throw new ConfigException(where + ".alias: must be a string");
    Object lunsValue = j.getValue("luns");
    if (!(lunsValue instanceof JsonArray arr) || arr.isEmpty()) {
      throw new ConfigException(where + ".luns: required, a non-empty list");
    }
    Map<Integer, LunOptions> luns = new TreeMap<>();
    for (int i = 0; i < arr.size(); i++) {
      String lw = where + ".luns[" + i + "]";
      if (!(arr.getValue(i) instanceof JsonObject lj)) throw new ConfigException(lw + ": must be an object");
      int lun = NegotiationOptions.range(lj, lw, "lun", i, 0, 16383);
      if (luns.containsKey(lun)) throw new ConfigException(lw + ".lun: " + lun + " is used twice");
      try {
        luns.put(lun, LunOptions.fromJson(withoutPolicyFields(lj), lw));
      } catch (IllegalArgumentException e) {
        throw new ConfigException(e.getMessage());
      }
    }
    return new TargetConfig(name, (String) alias, luns, acl(j.getValue("acl"), where, luns.keySet()),
        ChapAlgorithms.fromJson(j, where));
  }

  /** The LUN entry without the fields only the backing-path policy reads ({@link BackingPathPolicy#LUN_FIELDS}). */
  private static JsonObject withoutPolicyFields(JsonObject lun) {
    if (BackingPathPolicy.LUN_FIELDS.stream().noneMatch(lun::containsKey)) return lun;
    JsonObject j = lun.copy();
    BackingPathPolicy.LUN_FIELDS.forEach(j::remove);
    return j;
  }

  /**
   * Demo mode (any initiator, no authentication) must be chosen explicitly: a target in a config file
   * without {@code "acl"} is refused, so that forgetting the ACL never publishes a disk to the network.
   */
  private static List<AclEntry> acl(Object v, String where, Set<Integer> luns) {
    if (ACL_ANY.equals(v)) return null;
    if (v == null) {
      throw new ConfigException(where + ".acl: required: a list of the initiators allowed to log in, e.g. "
          + "[{\"initiator\": \"iqn.2026-11.com.example:host1\", \"chap\": {\"user\": \"host1\", \"secret\": "
          + "\"at-least-12-bytes\"}}], or \"any\" to admit every initiator without authentication");
    }
    if (!(v instanceof JsonArray a) || a.isEmpty()) {
      throw new ConfigException(where + ".acl: must be \"any\" or a non-empty list of initiators");
    }
    List<AclEntry> out = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < a.size(); i++) {
      String w = where + ".acl[" + i + "]";
      if (!(a.getValue(i) instanceof JsonObject o)) throw new ConfigException(w + ": must be an object");
      AclEntry e = AclEntry.fromJson(o, w, luns);
      if (!seen.add(e.initiator())) throw new ConfigException(w + ".initiator: " + e.initiator() + " is listed twice");
      out.add(e);
    }
    return out;
  }

  /** The target as config JSON, CHAP secrets included (what {@link #fromJson} reads back). */
  public JsonObject toJson() {
    return toJson(true);
  }

  /** The target as config JSON; without secrets, each CHAP secret reads "(redacted)" (for showing). */
  public JsonObject toJson(boolean withSecrets) {
    JsonArray ls = new JsonArray();
    luns.forEach((n, o) -> ls.add(lunJson(o).put("lun", n)));
    JsonObject j = new JsonObject().put("name", name);
    if (alias != null) j.put("alias", alias);
    j.put("luns", ls);
    if (acl == null) {
      j.put("acl", ACL_ANY);
    } else {
      JsonArray a = new JsonArray();
      acl.forEach(e -> a.add(e.toJson(withSecrets)));
      j.put("acl", a);
    }
    return j.put("chapAlgorithms", new JsonArray(ChapAlgorithms.names(chapAlgorithms)));
  }

  /**
   * A LUN's options as config JSON (without its number). Two LUNs with equal JSON are the same
   * logical unit, which is how a reload tells an unchanged LUN from a changed one.
   */
  public static JsonObject lunJson(LunOptions o) {
    JsonObject j = new JsonObject().put("backing", o.backing());
    // The store's own options (path, pool, image, ...), as the provider took them.
    o.storeOptions().forEach(e -> j.put(e.getKey(), e.getValue()));
    j.put("size", o.size()).put("blockSize", o.blockSize()).put("readOnly", o.readOnly())
        .put("vendor", o.vendor()).put("product", o.product());
    if (o.serial() != null) j.put("serial", o.serial());
    return j;
  }
}
