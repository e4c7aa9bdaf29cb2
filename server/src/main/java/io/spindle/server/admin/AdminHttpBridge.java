package io.spindle.server.admin;

import io.spindle.server.config.AdminConfig;
import io.spindle.server.config.SecretSource;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.CorsHandler;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API over HTTP (vertx-web), for {@code spindle-cli} and operators' scripts:
 * {@code POST /admin/<operation>} with a JSON body is sent to {@code spindle.admin.<operation>}
 * on the event bus and the reply comes back as JSON (200); a failure as
 * {@code {"error": {"code": ..., "message": ...}}} with the failure code as HTTP status.
 *
 * <p>Every request must carry {@code Authorization: Bearer <token>} (RFC 6750 §2.1), compared in
 * constant time; without it the answer is 401, the peer is logged, nothing runs. Operations that
 * change state take only {@code POST} with {@code Content-Type: application/json}: a browser page
 * cannot send that cross-origin without a CORS preflight, and a request carrying an
 * {@code Origin} not in {@code admin.allowedOrigins} (none by default) is refused with 403.
 * {@code GET} serves the read-only operations ({@link #READ_ONLY}), query parameters as fields.
 * With {@code admin.tls} it serves HTTPS only. docs/ADMIN-API.md "HTTP API".
 */
public final class AdminHttpBridge {

  private static final Logger ops = LoggerFactory.getLogger("io.spindle.ops");

  public static final String PATH = "/admin/";
  /** How long an operation may take; reloads open backing files and bind portals. */
  public static final long DEFAULT_TIMEOUT_MILLIS = 60_000;
  /** Larger request bodies are refused (413): a whole config is a few KiB. */
  public static final long MAX_BODY_BYTES = 1 << 20;
  /** Operations that change nothing; the only ones served on GET. */
  public static final Set<String> READ_ONLY = Set.of("targets.list", "portals.list", "sessions.list",
      "connections.list", "stats", "config.get");

  private final Vertx vertx;
  private final byte[] tokenHash;
  private final List<String> allowedOrigins;
  private final CorsHandler cors;

  private AdminHttpBridge(Vertx vertx, String token, List<String> allowedOrigins) {
    this.vertx = vertx;
    this.tokenHash = sha256(token);
    this.allowedOrigins = allowedOrigins;
    this.cors = allowedOrigins.isEmpty() ? null : CorsHandler.create().addOrigins(allowedOrigins)
        .allowedMethod(HttpMethod.GET).allowedMethod(HttpMethod.POST)
        .allowedHeader("Authorization").allowedHeader("Content-Type");
  }

  /**
   * Serves the API as {@code config} says, requiring {@code token} on every request.
   *
   * @param token the bearer token ({@link AdminConfig#requireToken()})
   */
  public static Future<HttpServer> start(Vertx vertx, AdminConfig config, String token) {
    HttpServerOptions options = new HttpServerOptions().setHost(config.address().host())
        .setPort(config.address().port());
    if (config.tls()) {
      options.setSsl(true).setKeyCertOptions(new PemKeyCertOptions()
          .setCertPath(SecretSource.resolve(config.certFile()).toString())
          .setKeyPath(SecretSource.resolve(config.keyFile()).toString()));
    }
    return vertx.createHttpServer(options)
        .requestHandler(new AdminHttpBridge(vertx, token, config.allowedOrigins()).router())
        .listen();
  }

  private Router router() {
    Router router = Router.router(vertx);
    router.route().handler(this::cors);
    router.route().handler(this::authenticate);
    router.route().handler(this::origin);
    router.get(PATH + ":op").handler(this::get);
    router.post(PATH + ":op").consumes("application/json")
        .handler(BodyHandler.create(false).setBodyLimit(MAX_BODY_BYTES))
        .handler(this::post);
    router.errorHandler(404, ctx -> error(ctx, 404, "use POST " + PATH + "<operation> with a JSON object; operations: "
        + AdminService.OPERATIONS));
    router.errorHandler(405, ctx -> error(ctx, 405, "use POST " + PATH + "<operation>"));
    router.errorHandler(415, ctx -> refuse(ctx, 415, "operations take Content-Type: application/json"));
    router.errorHandler(413, ctx -> error(ctx, 413, "the request body is over " + MAX_BODY_BYTES + " bytes"));
    router.errorHandler(500, ctx -> error(ctx, 500, String.valueOf(ctx.failure())));
    return router;
  }

  /** A configured origin's CORS preflight (which carries no credentials) is answered before authentication. */
  private void cors(RoutingContext ctx) {
    String origin = ctx.request().getHeader(HttpHeaders.ORIGIN);
    if (origin != null && cors != null && allowedOrigins.contains(origin)) cors.handle(ctx);
    else ctx.next();
  }

  /** Browsers send Origin; scripts and the CLI do not. Only configured origins get through. */
  private void origin(RoutingContext ctx) {
    String origin = ctx.request().getHeader(HttpHeaders.ORIGIN);
    if (origin == null || allowedOrigins.contains(origin)) {
      ctx.next();
    } else {
      refuse(ctx, 403, "cross-origin request from " + origin + " refused (admin.allowedOrigins)");
    }
  }

  private void authenticate(RoutingContext ctx) {
    String h = ctx.request().getHeader(HttpHeaders.AUTHORIZATION);
    if (h == null) {
      unauthorized(ctx, "no Authorization header");
    } else if (!h.regionMatches(true, 0, "Bearer ", 0, 7)) {
      unauthorized(ctx, "Authorization is not a Bearer token");
    } else if (!MessageDigest.isEqual(sha256(h.substring(7).strip()), tokenHash)) {
      // Hashes of equal length compared in full: the time taken says nothing about the token.
      unauthorized(ctx, "wrong token");
    } else {
      ctx.next();
    }
  }

  private void unauthorized(RoutingContext ctx, String why) {
    ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"spindle-admin\""); // RFC 6750 §3
    refuse(ctx, 401, "authentication required: " + why + " (Authorization: Bearer <token from admin.token>)");
  }

  private void get(RoutingContext ctx) {
    String op = ctx.pathParam("op");
    if (AdminService.OPERATIONS.contains(op) && !READ_ONLY.contains(op)) {
      ctx.response().putHeader(HttpHeaders.ALLOW, "POST");
      refuse(ctx, 405, op + " changes state: use POST with Content-Type: application/json");
      return;
    }
    JsonObject body = new JsonObject();
    ctx.queryParams().forEach(e -> body.put(e.getKey(), e.getValue()));
    forward(ctx, op, body);
  }

  private void post(RoutingContext ctx) {
    JsonObject body;
    try {
      String text = ctx.body().asString();
      body = text == null || text.isBlank() ? new JsonObject() : new JsonObject(text);
    } catch (RuntimeException e) {
      error(ctx, 400, "the request body must be a JSON object: " + e.getMessage());
      return;
    }
    forward(ctx, ctx.pathParam("op"), body);
  }

  private void forward(RoutingContext ctx, String op, JsonObject body) {
    if (!AdminService.OPERATIONS.contains(op)) {
      error(ctx, 404, "no operation " + op + "; operations: " + AdminService.OPERATIONS);
      return;
    }
    vertx.eventBus().<JsonObject>request(AdminService.PREFIX + op, body,
        new DeliveryOptions().setSendTimeout(DEFAULT_TIMEOUT_MILLIS)).onComplete(reply -> {
          if (reply.succeeded()) {
            ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(reply.result().body().encode());
          } else if (reply.cause() instanceof ReplyException re) {
            int code = switch (re.failureType()) {
              case TIMEOUT -> 504;
              case NO_HANDLERS -> 503;
              default -> re.failureCode() >= 400 && re.failureCode() < 600 ? re.failureCode() : 500;
            };
            error(ctx, code, re.getMessage());
          } else {
            error(ctx, 500, String.valueOf(reply.cause()));
          }
        });
  }

  /** A refused request: logged with its peer (nothing ran), then answered. */
  private static void refuse(RoutingContext ctx, int code, String message) {
    ops.warn("admin HTTP refused peer={} {} {}: {} {}", ctx.request().remoteAddress(), ctx.request().method(),
        ctx.request().path(), code, message);
    error(ctx, code, message);
  }

  private static void error(RoutingContext ctx, int code, String message) {
    if (ctx.response().ended()) return;
    ctx.response().setStatusCode(code).putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .end(new JsonObject().put("error", new JsonObject().put("code", code).put("message", message)).encode());
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is a required JDK algorithm", e);
    }
  }
}
