package io.spindle.server.config;

import io.spindle.iscsi.auth.ChapAlgorithm;
import io.spindle.iscsi.auth.ChapAuthenticator;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/** The {@code chapAlgorithms} allow-list: digest names, in the target's order of preference. */
final class ChapAlgorithms {

  private ChapAlgorithms() {
  }

  static List<ChapAlgorithm> fromJson(JsonObject j, String where) {
    Object v = j.getValue("chapAlgorithms");
    if (v == null) return ChapAuthenticator.DEFAULT_ALGORITHMS;
    List<String> known = names(List.of(ChapAlgorithm.values()));
    if (!(v instanceof JsonArray a) || a.isEmpty()) {
      throw new ConfigException(where + ".chapAlgorithms: must be a non-empty list of " + known);
    }
    List<ChapAlgorithm> out = new ArrayList<>();
    for (int i = 0; i < a.size(); i++) {
      ChapAlgorithm found = null;
      for (ChapAlgorithm c : ChapAlgorithm.values()) {
        if (c.digestName.equals(a.getValue(i))) found = c;
      }
      if (found == null) {
        throw new ConfigException(where + ".chapAlgorithms[" + i + "]: \"" + a.getValue(i) + "\" is not one of " + known);
      }
      if (out.contains(found)) throw new ConfigException(where + ".chapAlgorithms[" + i + "]: listed twice");
      out.add(found);
    }
    return List.copyOf(out);
  }

  static List<String> names(List<ChapAlgorithm> algorithms) {
    List<String> out = new ArrayList<>();
    for (ChapAlgorithm c : algorithms) out.add(c.digestName);
    return out;
  }
}
