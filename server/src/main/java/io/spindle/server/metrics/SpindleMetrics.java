package io.spindle.server.metrics;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.spindle.iscsi.datamover.PortalAddress;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxBuilder;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import io.vertx.micrometer.VertxPrometheusOptions;

/**
 * One Prometheus registry for a server: Spindle's own meters ({@link IscsiMetrics}) and, when the
 * Vert.x instance was built by {@link #vertx}, Vert.x's (event loops, worker pools, TCP/HTTP
 * servers, event bus) and the JVM's. {@link #serve} exposes it as {@code GET /metrics}.
 */
public final class SpindleMetrics {

  /** Prometheus text exposition format 0.0.4. */
  static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
  public static final String PATH = "/metrics";

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final IscsiMetrics iscsi = new IscsiMetrics(registry);

  public static SpindleMetrics create() {
    return new SpindleMetrics();
  }

  /**
   * A Vert.x instance whose own metrics (and the JVM's) go to this registry. An application that
   * builds its Vert.x itself can do the same with {@link #metricsFactory()} and {@link #metricsOptions()}.
   */
  public Vertx vertx(VertxOptions options) {
    return builder(options).build();
  }

  /** The builder {@link #vertx} uses, for a clustered Vert.x ({@code ClusterNode.join}). */
  public VertxBuilder builder(VertxOptions options) {
    return Vertx.builder().with(options.setMetricsOptions(metricsOptions())).withMetrics(metricsFactory());
  }

  public MicrometerMetricsFactory metricsFactory() {
    return new MicrometerMetricsFactory(registry);
  }

  public static MicrometerMetricsOptions metricsOptions() {
    return new MicrometerMetricsOptions().setEnabled(true).setJvmMetricsEnabled(true).setNettyMetricsEnabled(true)
        .setPrometheusOptions(new VertxPrometheusOptions().setEnabled(true));
  }

  /**
   * Cluster meters: {@code spindle_cluster_members} (members now) and the state replication's own
   * traffic, {@code spindle_cluster_replication_writes_total} and {@code _bytes_total}.
   */
  public void cluster(io.spindle.cluster.ClusterNode node) {
    io.micrometer.core.instrument.Gauge.builder("spindle.cluster.members", node, n -> n.members().size())
        .tag("node", node.node()).description("Members of the cluster this node sees").register(registry);
    io.micrometer.core.instrument.FunctionCounter.builder("spindle.cluster.replication.writes", node,
        n -> n.stateStore().writes()).description("Session state writes to the cluster store").register(registry);
    io.micrometer.core.instrument.FunctionCounter.builder("spindle.cluster.replication.bytes", node,
        n -> n.stateStore().bytesWritten()).description("Session state bytes written to the cluster store")
        .register(registry);
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  public IscsiMetrics iscsi() {
    return iscsi;
  }

  /** The current values in Prometheus text format. */
  public String scrape() {
    return registry.scrape();
  }

  /** Serves {@code GET /metrics} on {@code address}; anything else is 404. */
  public Future<HttpServer> serve(Vertx vertx, PortalAddress address) {
    return vertx.createHttpServer(new HttpServerOptions().setHost(address.host()).setPort(address.port()))
        .requestHandler(req -> {
          if (req.method() == HttpMethod.GET && PATH.equals(req.path())) {
            // Scraping walks every meter; keep it off the event loop.
            vertx.executeBlocking(this::scrape, false).onComplete(ar -> {
              if (ar.succeeded()) {
                req.response().putHeader("Content-Type", CONTENT_TYPE).end(ar.result());
              } else {
                req.response().setStatusCode(500).end(String.valueOf(ar.cause()));
              }
            });
          } else {
            req.response().setStatusCode(404).end("only GET " + PATH + " here\n");
          }
        })
        .listen();
  }
}
