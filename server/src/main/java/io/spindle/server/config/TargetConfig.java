package io.spindle.server.config;

import io.spindle.scsi.LunOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A target: its iSCSI name, optional alias, and LUNs.
 *
 * @param luns LUN number to logical unit options, in LUN order
 */
public record TargetConfig(String name, String alias, Map<Integer, LunOptions> luns) {

  private static final Set<String> FIELDS = Set.of("name", "alias", "luns");

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
        luns.put(lun, LunOptions.fromJson(lj, lw));
      } catch (IllegalArgumentException e) {
        throw new ConfigException(e.getMessage());
      }
    }
    return new TargetConfig(name, (String) alias, luns);
  }

  public JsonObject toJson() {
    JsonArray ls = new JsonArray();
    luns.forEach((n, o) -> ls.add(lunJson(o).put("lun", n)));
    JsonObject j = new JsonObject().put("name", name);
    if (alias != null) j.put("alias", alias);
    return j.put("luns", ls);
  }

  /**
   * A LUN's options as config JSON (without its number). Two LUNs with equal JSON are the same
   * logical unit, which is how a reload tells an unchanged LUN from a changed one.
   */
  public static JsonObject lunJson(LunOptions o) {
    JsonObject j = new JsonObject().put("backing", o.backing().name().toLowerCase(java.util.Locale.ROOT));
    if (o.path() != null) j.put("path", o.path());
    j.put("size", o.size()).put("blockSize", o.blockSize()).put("readOnly", o.readOnly())
        .put("vendor", o.vendor()).put("product", o.product());
    if (o.serial() != null) j.put("serial", o.serial());
    return j;
  }
}
