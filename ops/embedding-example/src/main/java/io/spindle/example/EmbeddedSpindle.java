package io.spindle.example;

import io.spindle.server.SpindleServer;
import io.spindle.server.admin.AdminService;
import io.spindle.server.config.ServerConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.TimeUnit;

/**
 * An application that runs Spindle inside its own Vert.x and drives it through the admin API on
 * the event bus, as it would across a clustered event bus: the application only sends JSON to
 * {@code spindle.admin.*} addresses.
 *
 * <pre>mvn -q -pl ops/embedding-example -am package &amp;&amp; java -cp ... io.spindle.example.EmbeddedSpindle</pre>
 */
public final class EmbeddedSpindle {

  private EmbeddedSpindle() {
  }

  public static void main(String[] args) throws Exception {
    Vertx vertx = Vertx.vertx();   // the application's Vert.x
    try {
      SpindleServer server = start(vertx).await(30, TimeUnit.SECONDS);
      JsonObject targets = provisionAndList(vertx).await(30, TimeUnit.SECONDS);
      System.out.println(targets.encodePrettily());
      System.out.println("iSCSI portal on 127.0.0.1:" + server.ports().get(0));
      server.stop().await(30, TimeUnit.SECONDS);
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  /** Starts a target with one RAM disk on a free loopback port, and the admin API. */
  public static Future<SpindleServer> start(Vertx vertx) {
    ServerConfig config = ServerConfig.fromJson(new JsonObject()
        .put("portals", new JsonArray().add(new JsonObject().put("address", "127.0.0.1:0")))
        .put("targets", new JsonArray().add(new JsonObject().put("name", "iqn.2026-11.com.example:app").put("acl", "any")
            .put("luns", new JsonArray().add(new JsonObject().put("backing", "memory").put("size", "64M"))))));
    return SpindleServer.start(vertx, config).compose(server ->
        new AdminService(vertx, server, null, null).register().map(server));
  }

  /** What the application does at run time: adds a LUN, then lists the targets. */
  public static Future<JsonObject> provisionAndList(Vertx vertx) {
    JsonObject addLun = new JsonObject().put("target", "iqn.2026-11.com.example:app")
        .put("lun", new JsonObject().put("lun", 1).put("backing", "memory").put("size", "16M"));
    return vertx.eventBus().<JsonObject>request("spindle.admin.luns.add", addLun)
        .compose(x -> vertx.eventBus().<JsonObject>request("spindle.admin.targets.list", new JsonObject()))
        .map(reply -> reply.body());
  }
}
