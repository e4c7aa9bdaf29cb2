package io.spindle.server.admin;

import io.spindle.iscsi.datamover.PortalAddress;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

/**
 * The {@code --admin HOST:PORT} bridge: {@code POST /admin/<operation>} with a JSON body is sent
 * to {@code spindle.admin.<operation>} on the event bus and the reply comes back as JSON (200), a
 * failure as {@code {"error": {"code": ..., "message": ...}}} with the failure code as HTTP status.
 * {@code GET} works for operations that take no body. There is no authentication: bind it to
 * loopback or a management network (docs/ADMIN-API.md "HTTP bridge").
 */
public final class AdminHttpBridge {

  public static final String PATH = "/admin/";
  /** How long an operation may take; reloads open backing files and bind portals. */
  public static final long DEFAULT_TIMEOUT_MILLIS = 60_000;

  private AdminHttpBridge() {
  }

  public static Future<HttpServer> start(Vertx vertx, PortalAddress address) {
    return vertx.createHttpServer(new HttpServerOptions().setHost(address.host()).setPort(address.port()))
        .requestHandler(req -> handle(vertx, req))
        .listen();
  }

  private static void handle(Vertx vertx, HttpServerRequest req) {
    String path = req.path();
    if (!path.startsWith(PATH) || path.length() == PATH.length()
        || (req.method() != HttpMethod.POST && req.method() != HttpMethod.GET)) {
      error(req, 404, "use POST " + PATH + "<operation> with a JSON object; operations: " + AdminService.OPERATIONS);
      return;
    }
    String op = path.substring(PATH.length());
    if (!AdminService.OPERATIONS.contains(op)) {
      error(req, 404, "no operation " + op + "; operations: " + AdminService.OPERATIONS);
      return;
    }
    req.body().onComplete(ar -> {
      if (ar.failed()) {
        error(req, 400, "could not read the request: " + ar.cause().getMessage());
        return;
      }
      JsonObject body;
      try {
        String text = ar.result().toString().trim();
        body = text.isEmpty() ? new JsonObject() : new JsonObject(text);
      } catch (DecodeException | ClassCastException e) {
        error(req, 400, "the request body must be a JSON object: " + e.getMessage());
        return;
      }
      vertx.eventBus().<JsonObject>request(AdminService.PREFIX + op, body,
          new DeliveryOptions().setSendTimeout(DEFAULT_TIMEOUT_MILLIS)).onComplete(reply -> {
            if (reply.succeeded()) {
              req.response().putHeader("Content-Type", "application/json").end(reply.result().body().encode());
            } else if (reply.cause() instanceof ReplyException re) {
              int code = switch (re.failureType()) {
                case TIMEOUT -> 504;
                case NO_HANDLERS -> 503;
                default -> re.failureCode() >= 400 && re.failureCode() < 600 ? re.failureCode() : 500;
              };
              error(req, code, re.getMessage());
            } else {
              error(req, 500, String.valueOf(reply.cause()));
            }
          });
    });
  }

  private static void error(HttpServerRequest req, int code, String message) {
    req.response().setStatusCode(code).putHeader("Content-Type", "application/json")
        .end(new JsonObject().put("error", new JsonObject().put("code", code).put("message", message)).encode());
  }
}
