package io.spindle.server;

import io.spindle.iscsi.datamover.PortalAddress;
import io.spindle.server.config.ConfigException;
import io.spindle.server.config.PortalConfig;
import io.spindle.server.config.ServerConfig;
import io.spindle.server.config.TargetConfig;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code java -jar spindle.jar [--config FILE] [--portal HOST:PORT]...}; see {@link #USAGE}. */
public final class Main {

  private static final Logger log = LoggerFactory.getLogger("io.spindle");

  static final String USAGE = String.join("\n",
      "usage: java -jar spindle.jar [--config FILE] [--portal HOST:PORT]... [--help]",
      "",
      "Serves iSCSI targets. With no --config, serves the demo target",
      "  " + ServerConfig.DEMO_TARGET + ", LUN 0 = a 1 GiB sparse file " + ServerConfig.DEMO_LUN_PATH,
      "  (created on first start, kept across restarts), on portal " + ServerConfig.DEMO_PORTAL
          + ", no authentication.",
      "",
      "  --config FILE       load targets, LUNs, portals and negotiation settings from a JSON file",
      "                      (see README.md \"Configuration\" and ops/examples/spindle.json)",
      "  --portal HOST:PORT  listen here instead of the configured portals (repeatable; tcp transport)",
      "  --help              print this text",
      "",
      "Exit codes: 0 clean stop (SIGTERM/SIGINT), 1 could not start, 2 bad arguments or configuration.");

  private Main() {
  }

  public static void main(String[] args) {
    ServerConfig config;
    try {
      config = parse(args);
    } catch (ConfigException e) {
      System.err.println("spindle: " + e.getMessage());
      System.err.println("Try --help.");
      System.exit(2);
      return;
    }
    if (config == null) {
      System.out.println(USAGE);
      return;
    }
    Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
    SpindleServer server;
    try {
      server = SpindleServer.start(vertx, config).await(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      System.err.println("spindle: could not start: " + e.getMessage());
      vertx.close();
      System.exit(e.getMessage() != null && e.getMessage().contains("is not an available transport") ? 2 : 1);
      return;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      log.info("stopping: finishing in-flight commands, flushing backing stores");
      try {
        server.stop().await(30, TimeUnit.SECONDS);
        vertx.close().await(10, TimeUnit.SECONDS);
        log.info("stopped cleanly");
      } catch (Exception e) {
        log.error("stop did not complete cleanly: {}", e.toString());
      }
      stopped.countDown();
    }, "spindle-shutdown"));
    System.out.println(banner(server));
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
    Path configFile = null;
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
        default:
          throw new ConfigException("unknown argument \"" + a + "\"");
      }
    }
    ServerConfig config = configFile == null ? ServerConfig.demo() : ServerConfig.load(configFile);
    return portals.isEmpty() ? config : config.withPortals(portals);
  }

  private static String value(String[] args, int i, String option) {
    if (i >= args.length) throw new ConfigException(option + " needs a value");
    return args[i];
  }
}
