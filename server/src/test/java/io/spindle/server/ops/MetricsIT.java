package io.spindle.server.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.spindle.initiator.Await;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.IscsiInitiator;
import io.spindle.initiator.ScsiResponse;
import io.spindle.initiator.Session;
import io.spindle.iscsi.pdu.LoginRequestPdu;
import io.spindle.iscsi.pdu.RejectPdu;
import io.spindle.server.SpindleServer;
import io.spindle.server.config.ServerConfig;
import io.spindle.server.metrics.SpindleMetrics;
import io.spindle.iscsi.datamover.PortalAddress;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The Prometheus endpoint of a real server scraped over HTTP while the initiator does I/O, and the
 * Grafana dashboard checked against what that endpoint exports.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MetricsIT {

  /** The dashboard, relative to the server module (Maven runs tests there). */
  static final Path DASHBOARD = Path.of("..", "ops", "grafana", "spindle-dashboard.json");
  /** Metric names use these prefixes: ours, Vert.x's, Netty's (event loops), the JVM's and process'. */
  static final Pattern METRIC = Pattern.compile("\\b((?:spindle|vertx|netty|jvm|process|system)_[a-z0-9_]+)\\b");
  static final Set<String> PANEL_TYPES = Set.of("row", "timeseries", "stat", "gauge", "bargauge", "table",
      "heatmap", "text");

  static final String TARGET = "iqn.2026-11.io.spindle:metrics";
  static final int BLOCK = 512;

  static Vertx vertx;
  static SpindleServer server;
  static int port;
  static URI endpoint;
  static IscsiInitiator initiator;

  @BeforeAll
  static void start() throws Exception {
    SpindleMetrics metrics = SpindleMetrics.create();
    vertx = metrics.vertx(new VertxOptions());
    JsonObject config = new JsonObject()
        .put("portals", new JsonArray().add(new JsonObject().put("address", "127.0.0.1:0")))
        .put("targets", new JsonArray().add(new JsonObject().put("name", TARGET).put("acl", "any").put("luns", new JsonArray()
            .add(new JsonObject().put("lun", 0).put("backing", "memory").put("size", "32M")))));
    server = SpindleServer.start(vertx, ServerConfig.fromJson(config), metrics).await(30, TimeUnit.SECONDS);
    port = server.ports().get(0);
    int http = metrics.serve(vertx, PortalAddress.parse("127.0.0.1:0")).await(10, TimeUnit.SECONDS).actualPort();
    endpoint = URI.create("http://127.0.0.1:" + http + SpindleMetrics.PATH);
    initiator = IscsiInitiator.create(vertx, new InitiatorOptions());
  }

  @AfterAll
  static void stop() throws Exception {
    if (initiator != null) Await.result(initiator.close());
    if (server != null) server.stop().await(30, TimeUnit.SECONDS);
    if (vertx != null) vertx.close().await(10, TimeUnit.SECONDS);
  }

  static String scrapeText() throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(endpoint).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode());
    assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"), r.headers().toString());
    return r.body();
  }

  /** Series (name with labels, as exported) to value. */
  static Map<String, Double> scrape() throws Exception {
    Map<String, Double> m = new LinkedHashMap<>();
    for (String line : scrapeText().split("\n")) {
      if (line.isBlank() || line.startsWith("#")) continue;
      int sp = line.lastIndexOf(' ');
      m.put(line.substring(0, sp), Double.parseDouble(line.substring(sp + 1)));
    }
    return m;
  }

  /** The sum of every series of {@code name} whose labels include all of {@code labels} ({@code k="v"}). */
  static double value(Map<String, Double> scrape, String name, String... labels) {
    double sum = 0;
    boolean found = false;
    for (Map.Entry<String, Double> e : scrape.entrySet()) {
      String k = e.getKey();
      if (!(k.equals(name) || k.startsWith(name + "{"))) continue;
      boolean all = true;
      for (String l : labels) all &= k.contains(l);
      if (all) {
        sum += e.getValue();
        found = true;
      }
    }
    return found ? sum : Double.NaN;
  }

  static Set<String> names(Map<String, Double> scrape) {
    Set<String> names = new HashSet<>();
    scrape.keySet().forEach(k -> names.add(k.contains("{") ? k.substring(0, k.indexOf('{')) : k));
    return names;
  }

  static Session login(long isid) {
    Session s = Await.result(initiator.login("127.0.0.1", port, TARGET, isid));
    Await.result(s.testUnitReady(0)).close();
    return s;
  }

  @Test
  @Order(1)
  void countersMoveDuringIoWithBaseUnits() throws Exception {
    Map<String, Double> before = scrape();
    String t = "target=\"" + TARGET + "\"";
    double written0 = zeroIfMissing(value(before, "spindle_scsi_data_bytes_total", t, "op=\"write\""));
    double reads0 = zeroIfMissing(value(before, "spindle_scsi_command_duration_seconds_count", t, "op=\"read\""));

    Session s = login(0x500001);
    AtomicBoolean stopIo = new AtomicBoolean();
    AtomicLong bytesWritten = new AtomicLong();
    AtomicLong readsDone = new AtomicLong();
    CountDownLatch running = new CountDownLatch(10);
    CompletableFuture<Void> io = CompletableFuture.runAsync(() -> {
      byte[] b = new byte[16 * BLOCK];
      for (int i = 0; (!stopIo.get() || i < 20) && i < 100_000; i++) {
        try (ScsiResponse w = Await.result(s.write(0, i % 4000, Unpooled.wrappedBuffer(b), BLOCK))) {
          assertTrue(w.isGood(), w.toString());
        }
        bytesWritten.addAndGet(b.length);
        try (ScsiResponse r = Await.result(s.read(0, i % 4000, 16, BLOCK))) {
          assertTrue(r.isGood(), r.toString());
        }
        readsDone.incrementAndGet();
        running.countDown();
      }
    });
    assertTrue(running.await(60, TimeUnit.SECONDS));
    Map<String, Double> during = scrape();
    assertEquals(1.0, value(during, "spindle_iscsi_sessions", t));
    assertTrue(value(during, "spindle_scsi_data_bytes_total", t, "op=\"write\"") > written0, "bytes written moved");
    assertTrue(value(during, "spindle_scsi_commands_total", t, "lun=\"0\"", "op=\"read\"", "status=\"good\"") > 0);
    assertTrue(value(during, "spindle_iscsi_connections", "transport=\"tcp\"") >= 1);
    stopIo.set(true);
    io.get(120, TimeUnit.SECONDS);

    // A 1 MiB write goes beyond FirstBurstLength: the target solicits the rest with R2Ts.
    try (ScsiResponse w = Await.result(s.write(0, 8000, Unpooled.wrappedBuffer(new byte[1 << 20]), BLOCK))) {
      assertTrue(w.isGood(), w.toString());
    }
    bytesWritten.addAndGet(1 << 20);
    // ABORT TASK SET with nothing outstanding (RFC 7143 §11.5.1 function 2): function complete.
    assertEquals(0, Await.result(s.taskManagement(2, 0, 0)));
    // A Login Request in the full feature phase is rejected (protocol error).
    CompletableFuture<Integer> reject = new CompletableFuture<>();
    s.connection().pduHandler(p -> {
      if (p instanceof RejectPdu r) reject.complete(r.reason());
    });
    LoginRequestPdu bad = new LoginRequestPdu();
    bad.stages(1, 3);
    Await.result(s.connection().send(bad));
    assertEquals(RejectPdu.PROTOCOL_ERROR, reject.get(10, TimeUnit.SECONDS));
    s.connection().pduHandler(null);
    // A login to a target that does not exist: failed, reason not_found, and the name not used as a label.
    assertThrows(RuntimeException.class, () -> Await.result(initiator.login("127.0.0.1", port,
        "iqn.2026-11.io.spindle:no-such-target", 0x500002L)));

    Map<String, Double> after = scrape();
    assertEquals(written0 + bytesWritten.get(), value(after, "spindle_scsi_data_bytes_total", t, "op=\"write\""),
        "bytes are counted exactly, in bytes");
    double count = value(after, "spindle_scsi_command_duration_seconds_count", t, "op=\"read\"");
    assertEquals(reads0 + readsDone.get(), count);
    assertEquals(count, value(after, "spindle_scsi_command_duration_seconds_bucket", t, "op=\"read\"",
        "le=\"+Inf\""));
    // Seconds: a 1 ms bucket exists and a memory-backed read is well below 10 s.
    assertFalse(Double.isNaN(value(after, "spindle_scsi_command_duration_seconds_bucket", t, "le=\"0.001\"")));
    assertEquals(count, value(after, "spindle_scsi_command_duration_seconds_bucket", t, "op=\"read\"",
        "le=\"10.0\""));
    assertTrue(value(after, "spindle_iscsi_r2t_total", t) > 0);
    assertEquals(1.0, value(after, "spindle_iscsi_task_management_total", t, "function=\"abort_task_set\""));
    assertEquals(1.0, value(after, "spindle_iscsi_rejected_pdus_total", "reason=\"protocol_error\""));
    assertEquals(1.0, value(after, "spindle_iscsi_logins_total", "result=\"failure\"", "reason=\"not_found\"",
        "target=\"other\""));
    assertTrue(value(after, "spindle_iscsi_logins_total", t, "result=\"success\"") >= 1);
    assertEquals(0.0, value(after, "spindle_iscsi_digest_errors_total", "type=\"data\""));
    // Vert.x's own metrics and the JVM's share the endpoint.
    Set<String> names = names(after);
    assertTrue(names.stream().anyMatch(n -> n.startsWith("vertx_")), "Vert.x metrics");
    assertTrue(names.contains("jvm_memory_used_bytes"), "JVM metrics");

    Await.result(s.logout());
  }

  /**
   * The dashboard against Grafana's dashboard JSON model (the fields Grafana requires to import
   * it: title, uid, schemaVersion, panels with unique ids, known types, a grid position within 24
   * columns, a datasource, targets with unique refIds and an expression), and every metric its
   * PromQL names against a live scrape of this server, after the I/O test made every series exist.
   */
  @Test
  @Order(2)
  void grafanaDashboardIsValidAndUsesOnlyExportedMetrics() throws Exception {
    JsonObject d = new JsonObject(Files.readString(DASHBOARD));
    assertTrue(d.getString("title") != null && !d.getString("title").isBlank(), "title");
    String uid = d.getString("uid");
    assertTrue(uid != null && uid.matches("[a-zA-Z0-9_-]{1,40}"), "uid: " + uid);
    assertTrue(d.getInteger("schemaVersion") >= 36, "schemaVersion");
    assertNotNull(d.getJsonObject("time").getString("from"));
    Set<String> variables = new HashSet<>();
    d.getJsonObject("templating").getJsonArray("list").forEach(v -> variables.add(((JsonObject) v).getString("name")));

    Map<String, Double> live = scrape();
    Set<String> exported = names(live);
    Set<String> labels = new HashSet<>();
    live.keySet().forEach(k -> {
      Matcher m = Pattern.compile("([a-z_]+)=\"").matcher(k);
      while (m.find()) labels.add(m.group(1));
    });
    Set<Integer> ids = new HashSet<>();
    JsonArray panels = d.getJsonArray("panels");
    assertFalse(panels.isEmpty());
    int queries = 0;
    for (int i = 0; i < panels.size(); i++) {
      JsonObject p = panels.getJsonObject(i);
      String where = "panels[" + i + "] " + p.getString("title");
      assertTrue(ids.add(p.getInteger("id")), where + ": duplicate id");
      assertTrue(PANEL_TYPES.contains(p.getString("type")), where + ": type " + p.getString("type"));
      assertNotNull(p.getString("title"), where);
      JsonObject g = p.getJsonObject("gridPos");
      int x = g.getInteger("x"), w = g.getInteger("w"), h = g.getInteger("h");
      assertTrue(x >= 0 && w > 0 && h > 0 && x + w <= 24 && g.getInteger("y") >= 0, where + ": gridPos " + g);
      if (p.getString("type").equals("row")) continue;
      assertEquals("prometheus", p.getJsonObject("datasource").getString("type"), where);
      assertTrue(variables.contains(p.getJsonObject("datasource").getString("uid").replaceAll("[${}]", "")), where);
      Set<String> refIds = new HashSet<>();
      JsonArray targets = p.getJsonArray("targets");
      assertFalse(targets.isEmpty(), where + ": no queries");
      for (Object o : targets) {
        JsonObject t = (JsonObject) o;
        assertTrue(refIds.add(t.getString("refId")), where + ": duplicate refId");
        String expr = t.getString("expr");
        assertTrue(balanced(expr), where + ": unbalanced brackets in " + expr);
        Matcher m = METRIC.matcher(expr);
        boolean any = false;
        while (m.find()) {
          any = true;
          assertTrue(exported.contains(m.group(1)), where + ": " + m.group(1) + " is not exported");
        }
        assertTrue(any, where + ": no metric in " + expr);
        Matcher by = Pattern.compile("by \\(([^)]*)\\)").matcher(expr);
        while (by.find()) {
          for (String l : by.group(1).split(",")) {
            String label = l.trim();
            if (!label.equals("instance")) assertTrue(labels.contains(label), where + ": label " + label);
          }
        }
        // Template variables used must be defined (or Grafana built-ins).
        Matcher v = Pattern.compile("\\$(\\w+)").matcher(expr);
        while (v.find()) {
          assertTrue(variables.contains(v.group(1)) || v.group(1).startsWith("__"), where + ": $" + v.group(1));
        }
        queries++;
      }
    }
    assertTrue(queries >= 10, "queries: " + queries);
  }

  static boolean balanced(String s) {
    java.util.ArrayDeque<Character> st = new java.util.ArrayDeque<>();
    boolean quoted = false;
    for (char c : s.toCharArray()) {
      if (c == '"') quoted = !quoted;
      if (quoted) continue;
      if (c == '(' || c == '[' || c == '{') st.push(c);
      if (c == ')' && (st.isEmpty() || st.pop() != '(')) return false;
      if (c == ']' && (st.isEmpty() || st.pop() != '[')) return false;
      if (c == '}' && (st.isEmpty() || st.pop() != '{')) return false;
    }
    return st.isEmpty() && !quoted;
  }

  static double zeroIfMissing(double v) {
    return Double.isNaN(v) ? 0 : v;
  }
}
