package io.spindle.cli;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/** Admin API replies as plain-text tables for people; {@code --json} bypasses this. */
final class Render {

  private Render() {
  }

  static String render(String op, JsonObject reply) {
    return switch (op) {
      case "targets.list" -> targets(reply.getJsonArray("targets"));
      case "portals.list" -> table(List.of("ADDRESS", "LISTENING", "TRANSPORT", "TPGT"),
          rows(reply.getJsonArray("portals"), p -> List.of(p.getString("address"), str(p.getValue("listening")),
              p.getString("transport"), str(p.getValue("portalGroupTag")))));
      case "sessions.list" -> table(List.of("TSIH", "TYPE", "INITIATOR", "ISID", "TARGET", "PEER", "DIGESTS",
          "MAXBURST"), rows(reply.getJsonArray("sessions"), s -> {
            JsonObject c = s.getJsonArray("connections").isEmpty() ? new JsonObject()
                : s.getJsonArray("connections").getJsonObject(0);
            JsonObject cp = c.getJsonObject("parameters", new JsonObject());
            return List.of(str(s.getValue("tsih")), s.getString("type"), s.getString("initiatorName"),
                s.getString("isid"), str(s.getValue("target")), str(c.getValue("remote")),
                cp.getString("HeaderDigest", "-") + "/" + cp.getString("DataDigest", "-"),
                str(s.getJsonObject("parameters", new JsonObject()).getValue("MaxBurstLength")));
          }));
      case "connections.list" -> table(List.of("TRANSPORT", "LOCAL", "REMOTE", "TSIH", "STATE"),
          rows(reply.getJsonArray("connections"), c -> List.of(c.getString("transport"), c.getString("local"),
              c.getString("remote"), str(c.getValue("tsih")), c.getString("state"))));
      case "stats" -> stats(reply);
      case "config.get" -> reply.getJsonObject("config").encodePrettily() + "\n";
      case "sessions.logout" -> "session " + reply.getValue("tsih") + " closed\n";
      case "config.save" -> "saved to " + reply.getValue("saved") + " (previous file kept as " + reply.getValue("backup")
          + ")\n";
      default -> changes(reply.getJsonObject("changes", new JsonObject())) + persistence(reply);
    };
  }

  /** Where a change was written, or that it was not ({@code persisted}, {@code note} in the reply). */
  private static String persistence(JsonObject reply) {
    if (!reply.containsKey("persisted")) return "";
    Object p = reply.getValue("persisted");
    return p instanceof String file ? "saved to " + file + "\n" : "not persistent: " + reply.getString("note") + "\n";
  }

  private static String targets(JsonArray targets) {
    List<List<String>> rows = new ArrayList<>();
    for (Object o : targets) {
      JsonObject t = (JsonObject) o;
      for (Object lo : t.getJsonArray("luns")) {
        JsonObject l = (JsonObject) lo;
        rows.add(List.of(t.getString("name"), str(t.getValue("alias")), str(l.getValue("lun")),
            l.getString("backing"), str(l.getValue("path")), str(l.getValue("size")),
            str(l.getValue("blockSize")), str(t.getValue("sessions"))));
      }
    }
    return table(List.of("TARGET", "ALIAS", "LUN", "BACKING", "PATH", "SIZE", "BLOCK", "SESSIONS"), rows);
  }

  private static String stats(JsonObject reply) {
    List<List<String>> rows = new ArrayList<>();
    for (Object o : reply.getJsonArray("targets")) {
      JsonObject t = (JsonObject) o;
      for (Object lo : t.getJsonArray("luns")) {
        JsonObject l = (JsonObject) lo;
        JsonObject lat = l.getJsonObject("latencySeconds", new JsonObject());
        rows.add(List.of(t.getString("name"), str(l.getValue("lun")), str(l.getValue("reads")),
            str(l.getValue("writes")), str(l.getValue("bytesRead")), str(l.getValue("bytesWritten")),
            str(l.getValue("errors")), String.format("%.6f", lat.getDouble("mean", 0.0))));
      }
    }
    String s = table(List.of("TARGET", "LUN", "READS", "WRITES", "BYTES_READ", "BYTES_WRITTEN", "ERRORS",
        "MEAN_LATENCY_S"), rows);
    s += "\n" + table(List.of("TSIH", "INITIATOR", "TARGET", "READS", "WRITES", "BYTES_READ", "BYTES_WRITTEN"),
        rows(reply.getJsonArray("sessions"), x -> List.of(str(x.getValue("tsih")), x.getString("initiatorName"),
            str(x.getValue("target")), str(x.getValue("reads")), str(x.getValue("writes")),
            str(x.getValue("bytesRead")), str(x.getValue("bytesWritten")))));
    return s;
  }

  private static String changes(JsonObject c) {
    StringBuilder b = new StringBuilder();
    for (String k : c.fieldNames()) {
      JsonArray a = c.getJsonArray(k);
      if (a != null && !a.isEmpty()) b.append(k).append(": ").append(String.join(", ", a.stream().map(String::valueOf).toList())).append('\n');
    }
    return b.length() == 0 ? "no changes\n" : b.toString();
  }

  private static List<List<String>> rows(JsonArray a, java.util.function.Function<JsonObject, List<String>> f) {
    List<List<String>> rows = new ArrayList<>();
    for (Object o : a) rows.add(f.apply((JsonObject) o));
    return rows;
  }

  private static String str(Object o) {
    return o == null ? "-" : o.toString();
  }

  static String table(List<String> header, List<List<String>> rows) {
    int[] w = new int[header.size()];
    for (int i = 0; i < w.length; i++) w[i] = header.get(i).length();
    for (List<String> r : rows) for (int i = 0; i < w.length; i++) w[i] = Math.max(w[i], r.get(i).length());
    StringBuilder b = new StringBuilder();
    List<List<String>> all = new ArrayList<>();
    all.add(header);
    all.addAll(rows);
    for (List<String> r : all) {
      for (int i = 0; i < w.length; i++) {
        b.append(i == w.length - 1 ? r.get(i) : String.format("%-" + (w[i] + 2) + "s", r.get(i)));
      }
      b.append('\n');
    }
    return b.toString();
  }
}
