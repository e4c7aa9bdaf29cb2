package io.spindle.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

class OperationsConfigTest {

  static JsonObject minimal() {
    return new JsonObject()
        .put("portals", new JsonArray().add(new JsonObject().put("address", "127.0.0.1:3260")))
        .put("targets", new JsonArray().add(new JsonObject().put("name", "iqn.2026-11.io.spindle:t").put("acl", "any")
            .put("alias", "a").put("luns", new JsonArray()
                .add(new JsonObject().put("lun", 2).put("backing", "file").put("path", "x.img").put("size", "1G")
                    .put("blockSize", 4096).put("readOnly", true).put("serial", "S1")))));
  }

  @Test
  void sectionsAreOptionalWithDefaults() {
    OperationsConfig o = ServerConfig.fromJson(minimal()).operations();
    assertNull(o.metricsAddress());
    assertNull(o.adminAddress());
    assertTrue(o.watch());
    assertEquals(OperationsConfig.DEFAULT_SCAN_INTERVAL_MILLIS, o.scanIntervalMillis());
    assertEquals(OperationsConfig.DEFAULT_GRACE_PERIOD_MILLIS, o.gracePeriodMillis());
  }

  @Test
  void sectionsAreRead() {
    JsonObject j = minimal().put("metrics", new JsonObject().put("address", "127.0.0.1:9260"))
        .put("admin", new JsonObject().put("address", "127.0.0.1:3280"))
        .put("reload", new JsonObject().put("watch", false).put("scanIntervalMillis", 500).put("gracePeriodMillis", 0));
    OperationsConfig o = ServerConfig.fromJson(j).operations();
    assertEquals("127.0.0.1:9260", o.metricsAddress().toString());
    assertEquals("127.0.0.1:3280", o.adminAddress().toString());
    assertFalse(o.watch());
    assertEquals(500, o.scanIntervalMillis());
    assertEquals(0, o.gracePeriodMillis());
  }

  @Test
  void badValuesAreNamed() {
    assertTrue(assertThrows(ConfigException.class, () -> ServerConfig.fromJson(minimal()
        .put("metrics", new JsonObject().put("address", "h:port")))).getMessage().startsWith("metrics.address:"));
    assertTrue(assertThrows(ConfigException.class, () -> ServerConfig.fromJson(minimal()
        .put("admin", new JsonObject().put("adress", "h:1")))).getMessage().startsWith("admin.adress: unknown field"));
    assertTrue(assertThrows(ConfigException.class, () -> ServerConfig.fromJson(minimal()
        .put("reload", new JsonObject().put("gracePeriodMillis", -1)))).getMessage()
        .startsWith("reload.gracePeriodMillis:"));
    assertTrue(assertThrows(ConfigException.class, () -> ServerConfig.fromJson(minimal().put("reload", 3)))
        .getMessage().startsWith("reload: must be an object"));
  }

  @Test
  void toJsonReadsBackToTheSameConfiguration() {
    JsonObject j = minimal().put("metrics", new JsonObject().put("address", "127.0.0.1:9260"))
        .put("negotiation", new JsonObject().put("maxBurstLength", 524288).put("nopInInterval", 0));
    ServerConfig c = ServerConfig.fromJson(j);
    JsonObject out = c.toJson();
    ServerConfig again = ServerConfig.fromJson(out);
    assertEquals(out, again.toJson());
    assertEquals(c.negotiation(), again.negotiation());
    assertEquals(c.operations(), again.operations());
    assertEquals(c.portals().get(0).toJson(), again.portals().get(0).toJson());
    JsonObject lun = out.getJsonArray("targets").getJsonObject(0).getJsonArray("luns").getJsonObject(0);
    assertEquals(2, lun.getInteger("lun"));
    assertEquals(4096, lun.getInteger("blockSize"));
    assertEquals(1L << 30, lun.getLong("size"));
    assertEquals("S1", lun.getString("serial"));
    assertTrue(lun.getBoolean("readOnly"));
  }
}
