package io.spindle.server.admin;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.spindle.iscsi.negotiation.ConnectionParameters;
import io.spindle.iscsi.negotiation.SessionParameters;
import io.spindle.scsi.LogicalUnit;
import io.spindle.server.SpindleServer;
import io.spindle.server.config.ConfigException;
import io.spindle.server.config.ConfigFile;
import io.spindle.server.config.ConfigWatcher;
import io.spindle.server.config.ServerConfig;
import io.spindle.server.iscsi.IscsiService.ConnectionInfo;
import io.spindle.server.iscsi.IscsiService.SessionInfo;
import io.spindle.server.metrics.IscsiMetrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API on the event bus (docs/ADMIN-API.md): request/reply JSON under
 * {@value #PREFIX}. Consumers are ordinary (not local) ones, so with a clustered Vert.x any
 * node's event bus reaches them, whatever the cluster manager; with {@code node} set each
 * operation is also registered under {@code spindle.admin.node.<node>.} to reach one node.
 *
 * <p>Changes to targets, LUNs and portals are edits applied with {@link SpindleServer#reconfigure}:
 * validated the same way as the file, all or nothing. With a config file the edit is made to the
 * file's content, applied, and the file written back ({@link ConfigFile}: atomic, the previous one
 * kept as {@code .bak}), so a restart or a later reload serves exactly what was changed; the reply
 * says {@code "persisted": FILE}. Without a file the reply says {@code "persisted": false}.
 *
 * <p>The event bus is trusted (the embedding application's own code, or its cluster); the HTTP
 * bridge authenticates its callers ({@link AdminHttpBridge}).
 */
public final class AdminService {

  private static final Logger ops = LoggerFactory.getLogger("io.spindle.ops");

  public static final String PREFIX = "spindle.admin.";

  /** Failure codes (ReplyException.failureCode()); HTTP's numbers, so the HTTP bridge passes them on. */
  public static final int BAD_REQUEST = 400;
  public static final int NOT_FOUND = 404;
  public static final int CONFLICT = 409;
  public static final int FAILED = 500;

  /** Operation names; the address is {@link #PREFIX} + name. */
  public static final List<String> OPERATIONS = List.of("targets.list", "targets.add", "targets.remove",
      "luns.add", "luns.remove", "portals.list", "portals.add", "portals.remove", "sessions.list",
      "sessions.logout", "connections.list", "stats", "reload", "config.get", "config.save", "config.export",
      "cluster.members");

  static final String NOT_PERSISTENT = "the server has no config file: this change lasts until it stops (start it"
      + " with --config FILE to keep changes)";

  private final Vertx vertx;
  private final SpindleServer server;
  private final ConfigWatcher watcher;
  private final String node;
  private final ConfigFile file;
  private final Consumer<JsonObject> check;
  private final List<MessageConsumer<Object>> consumers = new ArrayList<>();

  /**
   * @param watcher reloads the config file for {@code reload} without a body; null when the
   *     server has no file
   * @param node this node's name for node-specific addresses, or null
   */
  public AdminService(Vertx vertx, SpindleServer server, ConfigWatcher watcher, String node) {
    this(vertx, server, watcher, node, json -> { });
  }

  /**
   * @param check validates every configuration a change leads to, as JSON, beyond parsing (main
   *     passes {@link io.spindle.server.config.BackingPathPolicy}); runs on a worker
   */
  public AdminService(Vertx vertx, SpindleServer server, ConfigWatcher watcher, String node,
      Consumer<JsonObject> check) {
    this.vertx = vertx;
    this.server = server;
    this.watcher = watcher;
    this.node = node;
    this.file = watcher == null ? null : new ConfigFile(watcher.file());
    this.check = check;
  }

  /** Registers every operation; completes when the registrations have propagated (cluster-wide). */
  public Future<Void> register() {
    List<Future<Void>> done = new ArrayList<>();
    for (String op : OPERATIONS) {
      done.add(consume(PREFIX + op, op));
      if (node != null) done.add(consume(PREFIX + "node." + node + "." + op, op));
    }
    return Future.all(done).mapEmpty();
  }

  public Future<Void> unregister() {
    List<Future<Void>> done = new ArrayList<>();
    consumers.forEach(c -> done.add(c.unregister()));
    consumers.clear();
    return Future.join(done).mapEmpty();
  }

  private Future<Void> consume(String address, String op) {
    MessageConsumer<Object> c = vertx.eventBus().consumer(address, msg -> dispatch(op, msg));
    consumers.add(c);
    return c.completion();
  }

  private void dispatch(String op, Message<Object> msg) {
    Future<JsonObject> result;
    try {
      Object raw = msg.body();
      JsonObject body;
      if (raw == null || raw instanceof String s && s.isBlank()) {
        body = new JsonObject();
      } else if (raw instanceof JsonObject o) {
        body = o;
      } else {
        throw new AdminException(BAD_REQUEST, "the request body must be a JSON object");
      }
      result = handle(op, body);
    } catch (AdminException e) {
      result = Future.failedFuture(e);
    } catch (ConfigException | IllegalArgumentException | ClassCastException e) {
      result = Future.failedFuture(new AdminException(BAD_REQUEST, e.getMessage()));
    } catch (RuntimeException e) {
      ops.error("admin {} failed", op, e);
      result = Future.failedFuture(new AdminException(FAILED, String.valueOf(e)));
    }
    boolean mutation = !op.endsWith(".list") && !op.equals("stats") && !op.equals("config.get")
        && !op.equals("config.export");
    result.onComplete(ar -> {
      if (ar.succeeded()) {
        if (mutation) ops.info("admin {} ok request={}", op, msg.body());
        msg.reply(ar.result());
      } else {
        AdminException e = ar.cause() instanceof AdminException a ? a
            : ar.cause() instanceof ConfigException c ? new AdminException(BAD_REQUEST, c.getMessage())
            : new AdminException(FAILED, String.valueOf(ar.cause().getMessage()));
        ops.warn("admin {} failed code={} request={}: {}", op, e.code(), msg.body(), e.getMessage());
        msg.fail(e.code(), e.getMessage());
      }
    });
  }

  Future<JsonObject> handle(String op, JsonObject body) {
    return switch (op) {
      case "targets.list" -> Future.succeededFuture(targets());
      case "targets.add" -> edit(c -> {
        JsonObject t = object(body, "target");
        String name = t.getString("name");
        if (find(c.getJsonArray("targets"), "name", name) >= 0) {
          throw new AdminException(CONFLICT, "target " + name + " exists");
        }
        c.getJsonArray("targets").add(t);
      });
      case "targets.remove" -> edit(c -> {
        String name = string(body, "name");
        int i = find(c.getJsonArray("targets"), "name", name);
        if (i < 0) throw new AdminException(NOT_FOUND, "no target " + name);
        c.getJsonArray("targets").remove(i);
      });
      case "luns.add" -> edit(c -> {
        JsonArray luns = targetLuns(c, string(body, "target"));
        JsonObject lun = object(body, "lun");
        if (!(lun.getValue("lun") instanceof Number n)) throw new AdminException(BAD_REQUEST, "lun.lun: required");
        if (find(luns, "lun", n.intValue()) >= 0) {
          throw new AdminException(CONFLICT, "target " + body.getString("target") + " has LUN " + n);
        }
        luns.add(lun);
      });
      case "luns.remove" -> edit(c -> {
        JsonArray luns = targetLuns(c, string(body, "target"));
        int i = find(luns, "lun", integer(body, "lun"));
        if (i < 0) throw new AdminException(NOT_FOUND, "target " + body.getString("target") + " has no LUN "
            + body.getValue("lun"));
        luns.remove(i);
      });
      case "portals.list" -> Future.succeededFuture(portals());
      case "portals.add" -> edit(c -> {
        JsonObject p = object(body, "portal");
        if (find(c.getJsonArray("portals"), "address", p.getString("address")) >= 0) {
          throw new AdminException(CONFLICT, "portal " + p.getString("address") + " exists");
        }
        c.getJsonArray("portals").add(p);
      });
      case "portals.remove" -> edit(c -> {
        String address = string(body, "address");
        int i = find(c.getJsonArray("portals"), "address", address);
        if (i < 0) throw new AdminException(NOT_FOUND, "no portal " + address);
        c.getJsonArray("portals").remove(i);
      });
      case "sessions.list" -> Future.succeededFuture(sessions(body.getString("target")));
      case "sessions.logout" -> {
        int tsih = integer(body, "tsih");
        yield server.iscsi().closeSession(tsih).map(found -> {
          if (!found) throw new AdminException(NOT_FOUND, "no session with TSIH " + tsih);
          return new JsonObject().put("tsih", tsih).put("closed", true);
        });
      }
      case "connections.list" -> {
        JsonArray a = new JsonArray();
        server.iscsi().connections().forEach(c -> a.add(connection(c)));
        yield Future.succeededFuture(new JsonObject().put("connections", a));
      }
      case "stats" -> Future.succeededFuture(stats(body.getString("target")));
      case "cluster.members" -> Future.succeededFuture(clusterMembers());
      case "reload" -> reload(body);
      case "config.get" -> Future.succeededFuture(new JsonObject().put("config", server.config().toJson(false))
          .put("file", watcher == null ? null : watcher.file().toString()));
      // With the secrets, for a backup (spindle-cli export writes it readable by its owner only).
      case "config.export" -> Future.succeededFuture(new JsonObject().put("config", server.config().toJson(true))
          .put("file", watcher == null ? null : watcher.file().toString()));
      case "config.save" -> save();
      default -> throw new AdminException(NOT_FOUND, "no operation " + op);
    };
  }

  // ---------------------------------------------------------------- changes

  /** The members and the TSIHs each serves (README "Cluster"); {@code clustered: false} standalone. */
  private JsonObject clusterMembers() {
    io.spindle.cluster.ClusterNode c = server.iscsi().cluster();
    if (c == null) return new JsonObject().put("clustered", false).put("members", new JsonArray());
    JsonArray a = new JsonArray();
    for (io.spindle.cluster.ClusterNode.Member m : c.members()) {
      a.add(new JsonObject().put("node", m.node()).put("address", m.address()).put("local", m.local())
          .put("sessions", new JsonArray(m.sessions())));
    }
    return new JsonObject().put("clustered", true).put("cluster", c.options().name()).put("node", c.node())
        .put("members", a);
  }

  /**
   * Applies an edit: to the config file's content when there is a file (then written back), else to
   * the running configuration's JSON. The reply is what changed and where it was saved.
   */
  private Future<JsonObject> edit(Consumer<JsonObject> change) {
    if (file == null) {
      JsonObject json = server.config().toJson();
      change.accept(json);
      ServerConfig next = ServerConfig.fromJson(json);
      return checked(json).compose(v -> server.reconfigure(next))
          .map(summary -> new JsonObject().put("changes", summary).put("persisted", false).put("note", NOT_PERSISTENT));
    }
    return vertx.executeBlocking(() -> {
      JsonObject json = file.read();
      if (!json.containsKey("targets")) json.put("targets", new JsonArray());
      if (!json.containsKey("portals")) json.put("portals", new JsonArray());
      change.accept(json);
      ServerConfig next = watcher.parse(json);
      check.accept(json);
      return Map.entry(json, next);
    }).compose(e -> server.reconfigure(e.getValue()).compose(summary -> persist(e.getKey(), summary)));
  }

  /** Writes the applied change to the file; a failure to write is reported, the change stays applied. */
  private Future<JsonObject> persist(JsonObject json, JsonObject summary) {
    return vertx.executeBlocking(() -> {
      watcher.applied(file.write(json));
      return new JsonObject().put("changes", summary).put("persisted", file.file().toString());
    }).recover(e -> {
      ops.error("admin change applied but {} could not be written: {}; the file no longer matches the running"
          + " configuration (spindle-cli save retries)", file.file(), e.toString());
      return Future.succeededFuture(new JsonObject().put("changes", summary).put("persisted", false)
          .put("note", "applied, but " + file.file() + " could not be written: " + e.getMessage()));
    });
  }

  private Future<Void> checked(JsonObject json) {
    return vertx.executeBlocking(() -> {
      check.accept(json);
      return null;
    });
  }

  /** {@code config.save}: the running configuration laid over the file's content, written back. */
  private Future<JsonObject> save() {
    if (file == null) throw new AdminException(CONFLICT, "the server has no config file to save to (start it with --config FILE)");
    return vertx.executeBlocking(() -> {
      JsonObject merged = ConfigFile.merge(file.read(), server.config().toJson(true));
      watcher.applied(file.write(merged));
      return new JsonObject().put("saved", file.file().toString()).put("backup", file.backup().toString());
    });
  }

  private Future<JsonObject> reload(JsonObject body) {
    Object given = body.getValue("config");
    if (given != null) {
      if (!(given instanceof JsonObject c)) throw new AdminException(BAD_REQUEST, "config: must be an object");
      ServerConfig next = ServerConfig.fromJson(c);
      return checked(c).compose(v -> server.reconfigure(next)).map(s -> new JsonObject().put("changes", s)
          .put("persisted", false).put("note", file == null ? NOT_PERSISTENT
              : "applied from the request, not saved: config.save (spindle-cli save) writes it to " + file.file()));
    }
    if (watcher == null) {
      throw new AdminException(CONFLICT, "the server has no config file; send {\"config\": {...}} to reload");
    }
    return watcher.reload("admin call").map(s -> new JsonObject().put("changes", s));
  }

  // ---------------------------------------------------------------- views

  private JsonObject targets() {
    Map<String, Map<Integer, LogicalUnit>> units = server.logicalUnits();
    Map<String, Integer> sessionsPerTarget = new LinkedHashMap<>();
    server.iscsi().sessions().forEach(s -> {
      if (s.targetName() != null) sessionsPerTarget.merge(s.targetName(), 1, Integer::sum);
    });
    JsonArray a = new JsonArray();
    server.config().targets().forEach(t -> {
      JsonObject j = t.toJson(false); // CHAP secrets are never shown
      JsonArray luns = j.getJsonArray("luns");
      for (int i = 0; i < luns.size(); i++) {
        JsonObject l = luns.getJsonObject(i);
        LogicalUnit u = units.getOrDefault(t.name(), Map.of()).get(l.getInteger("lun"));
        if (u != null) l.put("blocks", u.blocks());
      }
      a.add(j.put("sessions", sessionsPerTarget.getOrDefault(t.name(), 0)));
    });
    return new JsonObject().put("targets", a);
  }

  private JsonObject portals() {
    JsonArray a = new JsonArray();
    Map<String, io.spindle.iscsi.datamover.PortalAddress> bound = server.boundPortals();
    server.config().portals().forEach(p -> {
      var b = bound.get(p.address().toString());
      a.add(p.toJson().put("listening", b == null ? null : b.toString()));
    });
    return new JsonObject().put("portals", a);
  }

  private JsonObject sessions(String target) {
    JsonArray a = new JsonArray();
    for (SessionInfo s : server.iscsi().sessions()) {
      if (target != null && !target.equals(s.targetName())) continue;
      JsonArray cs = new JsonArray();
      s.connections().forEach(c -> cs.add(connection(c)));
      a.add(new JsonObject().put("tsih", s.tsih()).put("type", s.discovery() ? "discovery" : "normal")
          .put("initiatorName", s.initiatorName()).put("isid", String.format("0x%012x", s.isid()))
          .put("target", s.targetName()).put("portalGroupTag", s.portalGroupTag())
          .put("parameters", parameters(s.params())).put("connections", cs));
    }
    return new JsonObject().put("sessions", a);
  }

  /** RFC 7143 §13 key names, as negotiated. */
  static JsonObject parameters(SessionParameters p) {
    if (p == null) return null;
    return new JsonObject().put("InitiatorAlias", p.initiatorAlias()).put("MaxConnections", p.maxConnections())
        .put("InitialR2T", p.initialR2T()).put("ImmediateData", p.immediateData())
        .put("MaxBurstLength", p.maxBurstLength()).put("FirstBurstLength", p.firstBurstLength())
        .put("DefaultTime2Wait", p.defaultTime2Wait()).put("DefaultTime2Retain", p.defaultTime2Retain())
        .put("MaxOutstandingR2T", p.maxOutstandingR2T()).put("DataPDUInOrder", p.dataPduInOrder())
        .put("DataSequenceInOrder", p.dataSequenceInOrder()).put("ErrorRecoveryLevel", p.errorRecoveryLevel())
        .put("TaskReporting", p.taskReporting()).put("iSCSIProtocolLevel", p.protocolLevel());
  }

  static JsonObject connection(ConnectionInfo c) {
    JsonObject j = new JsonObject().put("transport", c.transport())
        .put("local", String.valueOf(c.local())).put("remote", String.valueOf(c.remote()))
        .put("tsih", c.tsih() == 0 ? null : c.tsih()).put("state", c.tsih() == 0 ? "login" : "full_feature");
    ConnectionParameters p = c.params();
    if (p != null) {
      j.put("parameters", new JsonObject().put("HeaderDigest", p.headerDigest() ? "CRC32C" : "None")
          .put("DataDigest", p.dataDigest() ? "CRC32C" : "None")
          .put("InitiatorMaxRecvDataSegmentLength", p.initiatorMaxRecvDataSegmentLength())
          .put("TargetMaxRecvDataSegmentLength", p.targetMaxRecvDataSegmentLength()));
    }
    return j;
  }

  private JsonObject stats(String onlyTarget) {
    MeterRegistry r = server.metrics().registry();
    List<SessionInfo> live = server.iscsi().sessions();
    JsonArray ts = new JsonArray();
    server.logicalUnits().forEach((t, luns) -> {
      if (onlyTarget != null && !onlyTarget.equals(t)) return;
      JsonArray ls = new JsonArray();
      luns.keySet().forEach(n -> {
        String lun = Integer.toString(n);
        JsonObject l = new JsonObject().put("lun", n);
        for (String op : List.of("read", "write", "other")) {
          double all = r.find("spindle.scsi.commands").tags("target", t, "lun", lun, "op", op).counters().stream()
              .mapToDouble(Counter::count).sum();
          l.put(op.equals("other") ? "others" : op + "s", (long) all);
        }
        long errors = (long) r.find("spindle.scsi.commands").tags("target", t, "lun", lun).counters().stream()
            .filter(c -> !"good".equals(c.getId().getTag("status"))).mapToDouble(Counter::count).sum();
        l.put("errors", errors);
        l.put("bytesRead", (long) sum(r, "spindle.scsi.data", t, lun, "read"));
        l.put("bytesWritten", (long) sum(r, "spindle.scsi.data", t, lun, "write"));
        long count = 0;
        double total = 0;
        double max = 0;
        for (Timer timer : r.find("spindle.scsi.command.duration").tags("target", t, "lun", lun).timers()) {
          count += timer.count();
          total += timer.totalTime(TimeUnit.SECONDS);
          max = Math.max(max, timer.max(TimeUnit.SECONDS));
        }
        l.put("latencySeconds", new JsonObject().put("count", count).put("sum", total)
            .put("mean", count == 0 ? 0.0 : total / count).put("max", max));
        ls.add(l);
      });
      long sessions = live.stream().filter(s -> t.equals(s.targetName())).count();
      ts.add(new JsonObject().put("name", t).put("sessions", sessions).put("luns", ls));
    });
    IscsiMetrics m = server.metrics().iscsi();
    Set<Integer> tsihs = new HashSet<>();
    JsonArray ss = new JsonArray();
    for (SessionInfo s : live) {
      tsihs.add(s.tsih());
      if (onlyTarget != null && !onlyTarget.equals(s.targetName())) continue;
      IscsiMetrics.SessionCounters c = m.session(s.tsih());
      ss.add(new JsonObject().put("tsih", s.tsih()).put("initiatorName", s.initiatorName())
          .put("target", s.targetName())
          .put("reads", c == null ? 0 : c.reads.sum()).put("writes", c == null ? 0 : c.writes.sum())
          .put("others", c == null ? 0 : c.others.sum()).put("errors", c == null ? 0 : c.errors.sum())
          .put("bytesRead", c == null ? 0 : c.bytesRead.sum())
          .put("bytesWritten", c == null ? 0 : c.bytesWritten.sum()));
    }
    m.retainSessions(tsihs);
    return new JsonObject().put("targets", ts).put("sessions", ss);
  }

  private static double sum(MeterRegistry r, String name, String target, String lun, String op) {
    return r.find(name).tags("target", target, "lun", lun, "op", op).counters().stream()
        .mapToDouble(Counter::count).sum();
  }

  // ---------------------------------------------------------------- request fields

  private static JsonObject object(JsonObject body, String key) {
    if (!(body.getValue(key) instanceof JsonObject o)) throw new AdminException(BAD_REQUEST, key + ": required, an object");
    return o.copy();
  }

  private static String string(JsonObject body, String key) {
    if (!(body.getValue(key) instanceof String s) || s.isEmpty()) {
      throw new AdminException(BAD_REQUEST, key + ": required, a string");
    }
    return s;
  }

  private static int integer(JsonObject body, String key) {
    if (!(body.getValue(key) instanceof Number n) || n.doubleValue() != n.intValue()) {
      throw new AdminException(BAD_REQUEST, key + ": required, a whole number");
    }
    return n.intValue();
  }

  private static int find(JsonArray a, String key, Object value) {
    for (int i = 0; i < a.size(); i++) {
      Object v = a.getJsonObject(i).getValue(key);
      if (v != null && (v.equals(value) || (v instanceof Number x && value instanceof Number y
          && x.longValue() == y.longValue()))) {
        return i;
      }
    }
    return -1;
  }

  private static JsonArray targetLuns(JsonObject config, String target) {
    int i = find(config.getJsonArray("targets"), "name", target);
    if (i < 0) throw new AdminException(NOT_FOUND, "no target " + target);
    return config.getJsonArray("targets").getJsonObject(i).getJsonArray("luns");
  }
}
