package io.spindle.server;

import io.spindle.cluster.ClusterNode;
import io.spindle.iscsi.datamover.PortalAddress;
import io.spindle.server.admin.AdminHttpBridge;
import io.spindle.server.admin.AdminService;
import io.spindle.server.config.AdminConfig;
import io.spindle.server.config.BackingPathPolicy;
import io.spindle.server.config.ConfigFile;
import io.spindle.server.config.ConfigException;
import io.spindle.server.config.ConfigWatcher;
import io.spindle.server.config.Listeners;
import io.spindle.server.config.OperationsConfig;
import io.spindle.server.config.PortalConfig;
import io.spindle.server.config.SecretSource;
import io.spindle.server.config.ServerConfig;
import io.spindle.server.config.TargetConfig;
import io.spindle.server.metrics.SpindleMetrics;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code java -jar spindle.jar [--config FILE] [--portal HOST:PORT]... [--metrics HOST:PORT] [--admin HOST:PORT] ...}; see {@link #USAGE}. */
public final class Main {

  private static final Logger log = LoggerFactory.getLogger("io.spindle");

  static final String USAGE = String.join("\n",
      "usage: java -jar spindle.jar [--config FILE] [--portal HOST:PORT]... [--metrics HOST:PORT]",
      "                             [--admin HOST:PORT] [--admin-token-file FILE]",
      "                             [--admin-cert PEM --admin-key PEM] [--version] [--help]",
      "",
      "Serves iSCSI targets. With no --config, serves the demo target",
      "  " + ServerConfig.DEMO_TARGET + ", LUN 0 = a 1 GiB sparse file " + ServerConfig.DEMO_LUN_PATH,
      "  (created on first start, kept across restarts), on portal " + ServerConfig.DEMO_PORTAL
          + ", no authentication.",
      "",
      "  --config FILE       load targets, LUNs, portals and negotiation settings from a JSON file",
      "                      (see README.md \"Configuration\" and ops/examples/spindle.json)",
      "  --portal HOST:PORT  listen here instead of the configured portals (repeatable; tcp transport)",
      "  --metrics HOST:PORT serve Prometheus metrics at http://HOST:PORT/metrics",
      "  --admin HOST:PORT   serve the admin API over HTTP (POST /admin/<operation>) for spindle-cli;",
      "                      every request needs the bearer token (admin.token or --admin-token-file)",
      "  --admin-token-file FILE  the admin API's bearer token (a file of mode 0600)",
      "  --admin-cert PEM, --admin-key PEM  serve the admin API over HTTPS with this certificate",
      "  --version           print the version and the git commit it was built from",
      "  --help              print this text",
      "",
      "With --config, the file is watched and reloaded when it changes, on SIGHUP, and on the admin",
      "call spindle.admin.reload; an invalid file is rejected and the running configuration stays.",
      "Admin changes are written back to the file (the previous one kept as FILE.bak).",
      "",
      "Exit codes: 0 clean stop (SIGTERM/SIGINT), 1 could not start, 2 bad arguments or configuration.");

  private Main() {
  }

  /**
   * What the command line asks for.
   *
   * @param file the config file, or null for the demo
   * @param overrides the command-line options that win over the file, applied again on every reload
   */
  record Launch(ServerConfig config, Path file, UnaryOperator<ServerConfig> overrides) {
  }

  public static void main(String[] args) {
    if (List.of(args).contains("--version")) {
      System.out.println(version());
      return;
    }
    Launch launch;
    String token;
    try {
      launch = launch(args);
      AdminConfig admin = launch == null ? null : launch.config().operations().admin();
      token = admin == null ? null : admin.requireToken();
    } catch (ConfigException e) {
      System.err.println("spindle: " + e.getMessage());
      System.err.println("Try --help.");
      System.exit(2);
      return;
    }
    if (launch == null) {
      System.out.println(USAGE);
      return;
    }
    ServerConfig config = launch.config();
    SpindleMetrics metrics = SpindleMetrics.create();
    VertxOptions options = new VertxOptions().setPreferNativeTransport(true);
    Vertx vertx;
    ClusterNode cluster = null;
    SpindleServer server;
    try {
      if (config.cluster() == null) {
        vertx = metrics.vertx(options);
      } else {
        // A cluster member: embedded Hazelcast and a clustered event bus (README "Cluster").
        options.getEventBusOptions().setHost(config.cluster().eventBus().host()).setPort(config.cluster().eventBus().port());
        cluster = ClusterNode.join(config.cluster().options(), metrics.builder(options)).await(120, TimeUnit.SECONDS);
        vertx = cluster.vertx();
      }
    } catch (Exception e) {
      System.err.println("spindle: could not join the cluster: " + e.getMessage());
      System.exit(1);
      return;
    }
    try {
      server = SpindleServer.start(vertx, config, metrics, cluster).await(60, TimeUnit.SECONDS);
      startOperations(vertx, server, launch, token);
    } catch (Exception e) {
      System.err.println("spindle: could not start: " + e.getMessage());
      vertx.close();
      System.exit(e instanceof ConfigException
          || e.getMessage() != null && e.getMessage().contains("is not an available transport") ? 2 : 1);
      return;
    }
    stopOnSignals(server, vertx);
    System.out.println(banner(server));
  }

  /**
   * SIGTERM and SIGINT stop cleanly and exit 0 (a systemd unit's clean stop); a second signal while
   * stopping is logged and ignored. Without signal handling the JVM's shutdown hook does the same
   * stop, with the JVM's exit status.
   */
  private static void stopOnSignals(SpindleServer server, Vertx vertx) {
    AtomicBoolean stopping = new AtomicBoolean();
    java.util.function.Function<String, Runnable> stop = sig -> () -> {
      if (!stopping.compareAndSet(false, true)) {
        log.info("SIG{}: already stopping", sig);
        return;
      }
      Thread t = new Thread(() -> System.exit(stop(server, vertx, "SIG" + sig) ? 0 : 1), "spindle-stop");
      t.start();
    };
    boolean handled = Signals.handle("TERM", stop.apply("TERM")) & Signals.handle("INT", stop.apply("INT"));
    if (!handled) {
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        if (stopping.compareAndSet(false, true)) stop(server, vertx, "JVM shutdown");
      }, "spindle-shutdown"));
    }
  }

  /** @return whether everything stopped in time */
  private static boolean stop(SpindleServer server, Vertx vertx, String why) {
    log.info("stopping ({}): finishing in-flight commands, flushing backing stores", why);
    try {
      server.stop().await(30, TimeUnit.SECONDS);
      vertx.close().await(10, TimeUnit.SECONDS);
      log.info("stopped cleanly");
      return true;
    } catch (Exception e) {
      log.error("stop did not complete cleanly: {}", e.toString());
      return false;
    }
  }

  /** {@code spindle VERSION (commit COMMIT)}, from the build (version.properties, filled in by Maven). */
  static String version() {
    Properties p = new Properties();
    try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
      if (in != null) p.load(in);
    } catch (IOException e) {
      // Reported as unknown below.
    }
    String version = p.getProperty("version", "unknown");
    String commit = p.getProperty("commit", "");
    if (commit.isEmpty() || commit.startsWith("${")) commit = "unknown";
    else if ("true".equals(p.getProperty("dirty"))) commit += " with local changes";
    return "spindle " + version + " (commit " + commit + ")";
  }

  /** Metrics endpoint, config watch and SIGHUP, admin API and its HTTP bridge. */
  static void startOperations(Vertx vertx, SpindleServer server, Launch launch, String token) throws Exception {
    OperationsConfig o = server.config().operations();
    Consumer<JsonObject> policy = json -> BackingPathPolicy.check(json, server.config());
    if (o.metricsAddress() != null) {
      var http = server.metrics().serve(vertx, o.metricsAddress()).await(30, TimeUnit.SECONDS);
      PortalAddress bound = new PortalAddress(o.metricsAddress().host(), http.actualPort());
      server.reserve("metrics.address (listening)", bound);
      log.info("metrics at http://{}{}", bound, SpindleMetrics.PATH);
    }
    ConfigWatcher watcher = null;
    if (launch.file() != null) {
      watcher = new ConfigWatcher(vertx, launch.file(), launch.overrides(), server::reconfigure, policy);
      if (o.watch()) watcher.start(o.scanIntervalMillis()).await(30, TimeUnit.SECONDS);
      ConfigWatcher w = watcher;
      if (Signals.handle("HUP", () -> vertx.runOnContext(v -> w.reload("SIGHUP")))) {
        log.debug("SIGHUP reloads {}", launch.file());
      }
    } else {
      Signals.handle("HUP", () -> log.warn("SIGHUP ignored: the server was started without --config, there is no"
          + " file to reload"));
    }
    new AdminService(vertx, server, watcher,
        server.iscsi().cluster() == null ? null : server.iscsi().cluster().node(), policy)
        .register().await(30, TimeUnit.SECONDS);
    if (o.admin() != null) {
      var http = AdminHttpBridge.start(vertx, o.admin(), token).await(30, TimeUnit.SECONDS);
      PortalAddress bound = new PortalAddress(o.admin().address().host(), http.actualPort());
      server.reserve("admin.address (listening)", bound);
      log.info("admin API at {}://{}{}<operation> (bearer token required)", o.admin().tls() ? "https" : "http",
          bound, AdminHttpBridge.PATH);
    }
  }

  static String banner(SpindleServer server) {
    ServerConfig c = server.config();
    List<String> portals = new ArrayList<>();
    for (int i = 0; i < c.portals().size() && i < server.ports().size(); i++) {
      portals.add(new PortalAddress(c.portals().get(i).address().host(), server.ports().get(i)).toString());
    }
    TargetConfig first = c.targets().isEmpty() ? null : c.targets().get(0);
    String host = c.portals().get(0).address().host();
    if (host.equals("0.0.0.0") || host.equals("::")) host = "127.0.0.1";
    String url = first == null ? "(no targets configured)"
        : "iscsi://" + new PortalAddress(host, server.ports().get(0)) + "/" + first.name() + "/"
        + first.luns().keySet().iterator().next();
    return "Spindle serving " + c.targets().size() + " target(s) on " + String.join(", ", portals)
        + (server.vertx().isNativeTransportEnabled() ? " (epoll)" : "") + "; connect with " + url
        + " or iscsiadm -m discovery -t st -p " + host;
  }

  /** @return the configuration, or null when only help was asked for */
  static ServerConfig parse(String[] args) {
    Launch l = launch(args);
    return l == null ? null : l.config();
  }

  /** @return what to start, or null when only help was asked for */
  static Launch launch(String[] args) {
    Path configFile = null;
    PortalAddress metrics = null;
    PortalAddress admin = null;
    Path tokenFile = null;
    Path cert = null;
    Path key = null;
    List<PortalConfig> portals = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      switch (a) {
        case "--help": case "-h":
          return null;
        case "--config":
          configFile = Path.of(value(args, ++i, a));
          break;
        case "--portal":
          String v = value(args, ++i, a);
          try {
            portals.add(new PortalConfig(PortalAddress.parse(v), PortalConfig.DEFAULT_TRANSPORT,
                PortalConfig.DEFAULT_PORTAL_GROUP_TAG, new JsonObject()));
          } catch (IllegalArgumentException e) {
            throw new ConfigException("--portal: " + e.getMessage());
          }
          break;
        case "--metrics":
          metrics = address(value(args, ++i, a), a);
          break;
        case "--admin":
          admin = address(value(args, ++i, a), a);
          break;
        case "--admin-token-file":
          tokenFile = Path.of(value(args, ++i, a)).toAbsolutePath();
          break;
        case "--admin-cert":
          cert = Path.of(value(args, ++i, a)).toAbsolutePath();
          break;
        case "--admin-key":
          key = Path.of(value(args, ++i, a)).toAbsolutePath();
          break;
        default:
          throw new ConfigException("unknown argument \"" + a + "\"");
      }
    }
    if ((cert == null) != (key == null)) throw new ConfigException("--admin-cert and --admin-key go together");
    PortalAddress m = metrics;
    PortalAddress ad = admin;
    Path tf = tokenFile;
    Path c1 = cert;
    Path k1 = key;
    UnaryOperator<ServerConfig> overrides = c -> {
      ServerConfig r = portals.isEmpty() ? c : c.withPortals(portals);
      if (m != null) r = r.withOperations(r.operations().withMetricsAddress(m));
      if (ad != null) r = r.withOperations(r.operations().withAdminAddress(ad));
      AdminConfig adm = r.operations().admin();
      // A token or certificate alone turns the API on at its default (loopback) address.
      if (adm == null && (tf != null || c1 != null)) adm = AdminConfig.at(PortalAddress.parse(AdminConfig.DEFAULT_ADDRESS));
      if (adm != null && tf != null) adm = adm.withToken(SecretSource.ofFile(tf));
      if (adm != null && c1 != null) adm = adm.withTls(c1, k1);
      if (adm != null) r = r.withOperations(r.operations().withAdmin(adm));
      return r;
    };
    // Relative secret and certificate files in the config are relative to its directory.
    SecretSource.base(configFile == null ? null : configFile.toAbsolutePath().getParent());
    ServerConfig config = overrides.apply(configFile == null ? ServerConfig.demo() : ServerConfig.load(configFile));
    Listeners.check(config);
    try {
      BackingPathPolicy.check(configFile == null ? config.toJson() : new ConfigFile(configFile).read(), null);
    } catch (ConfigException e) {
      throw configFile == null ? e : new ConfigException(configFile + ": " + e.getMessage());
    }
    return new Launch(config, configFile, overrides);
  }

  private static PortalAddress address(String v, String option) {
    try {
      return PortalAddress.parse(v);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(option + ": " + e.getMessage());
    }
  }

  private static String value(String[] args, int i, String option) {
    if (i >= args.length) throw new ConfigException(option + " needs a value");
    return args[i];
  }
}
