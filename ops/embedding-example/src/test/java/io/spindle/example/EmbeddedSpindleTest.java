package io.spindle.example;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.spindle.server.SpindleServer;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class EmbeddedSpindleTest {

  @Test
  void theApplicationProvisionsThroughTheEventBus() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      SpindleServer server = EmbeddedSpindle.start(vertx).await(30, TimeUnit.SECONDS);
      JsonObject targets = EmbeddedSpindle.provisionAndList(vertx).await(30, TimeUnit.SECONDS);
      assertEquals(2, targets.getJsonArray("targets").getJsonObject(0).getJsonArray("luns").size());
      assertEquals(2, server.logicalUnits().get("iqn.2026-11.com.example:app").size());
      server.stop().await(30, TimeUnit.SECONDS);
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
