package io.spindle.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ServerConfigTest {

  private static JsonObject valid() {
    return new JsonObject("""
        {"portals":[{"address":"127.0.0.1:3260"}],
         "targets":[{"name":"iqn.2026-11.io.spindle:a","acl":"any","luns":[{"lun":0,"backing":"memory","size":"16M"}]}]}
        """);
  }

  @Test
  void exampleConfigInOpsParses() {
    ServerConfig c = ServerConfig.load(Path.of("../ops/examples/spindle.json"));
    assertEquals(2, c.targets().size());
    assertEquals(10L << 30, c.targets().get(0).luns().get(0).size());
    assertEquals(4096, c.targets().get(0).luns().get(1).blockSize());
    assertEquals("memory", c.targets().get(1).luns().get(0).backing());
  }

  @Test
  void rbdExampleParsesWithItsStoreOptions() {
    ServerConfig c = ServerConfig.load(Path.of("../ops/examples/rbd.json"));
    assertEquals("iqn.2026-11.io.spindle:rbd", c.targets().get(0).name());
    io.spindle.scsi.LunOptions lun = c.targets().get(0).luns().get(0);
    assertEquals("rbd", lun.backing());
    assertEquals("spindle-demo", lun.storeOptions().getString("image"));
    assertEquals(true, lun.storeOptions().getBoolean("create"));
    assertEquals(1L << 30, lun.size());
  }

  @Test
  void aStoreOptionTheProviderDoesNotKnowIsAnErrorNamingTheField() {
    RuntimeException e = assertThrows(RuntimeException.class, () -> ServerConfig.fromJson(new JsonObject("""
        {"portals":[{"address":"127.0.0.1:0"}],
         "targets":[{"name":"iqn.2026-11.io.spindle:a","acl":"any",
                     "luns":[{"lun":0,"backing":"memory","size":"16M","pool":"x"}]}]}
        """)));
    assertTrue(e.getMessage().contains("targets[0].luns[0].pool: unknown field for \"backing\": \"memory\""),
        e.getMessage());
  }

  @Test
  void demoIsOneTargetOneGibibyteFileOnAllAddresses() {
    ServerConfig c = ServerConfig.demo();
    assertEquals("iqn.2026-11.io.spindle:demo", c.targets().get(0).name());
    assertEquals(1L << 30, c.targets().get(0).luns().get(0).size());
    assertEquals("0.0.0.0:3260", c.portals().get(0).address().toString());
  }

  @Test
  void validConfigParses() {
    ServerConfig c = ServerConfig.fromJson(valid());
    assertEquals(1, c.portals().size());
    assertEquals(NegotiationOptions.DEFAULT_QUEUE_DEPTH, c.negotiation().queueDepth());
  }

  /** Each bad value is named by its JSON path in the message. */
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "/portals/0/address | \"nowhere:http\" | portals[0].address",
      "/targets/0/name | \"iqn.2026-11.io.spindle:UPPER\" | targets[0].name",
      "/targets/0/name | \"disk1\" | targets[0].name",
      "/targets/0/luns/0/size | \"12Q\" | targets[0].luns[0].size",
      "/targets/0/luns/0/backing | \"tape\" | targets[0].luns[0].backing",
      "/targets/0/luns/0/blockSize | 1024 | targets[0].luns[0].blockSize",
      "/targets/0/luns/0/colour | \"red\" | targets[0].luns[0].colour",
      "/negotiation | {\"maxBurstLength\": 100} | negotiation.maxBurstLength",
      "/negotiation | {\"firstBurstLength\": 2097152} | negotiation.firstBurstLength",
      "/negotiation | {\"errorRecoveryLevel\": 3} | negotiation.errorRecoveryLevel",
      "/storage | {\"workerThreads\": 0} | storage.workerThreads",
      "/extra | 1 | extra"})
  void badValueIsNamed(String pointer, String json, String field) {
    JsonObject c = valid();
    set(c, pointer, new JsonObject("{\"v\":" + json + "}").getValue("v"));
    ConfigException e = assertThrows(ConfigException.class, () -> ServerConfig.fromJson(c));
    assertTrue(e.getMessage().startsWith(field + ":"), e.getMessage());
  }

  @Test
  void duplicateTargetAndPortalAreRefused() {
    JsonObject c = valid();
    c.getJsonArray("targets").add(c.getJsonArray("targets").getJsonObject(0).copy());
    assertTrue(assertThrows(ConfigException.class, () -> ServerConfig.fromJson(c)).getMessage()
        .contains("listed twice"));
    JsonObject d = valid();
    d.getJsonArray("portals").add(d.getJsonArray("portals").getJsonObject(0).copy());
    assertTrue(assertThrows(ConfigException.class, () -> ServerConfig.fromJson(d)).getMessage()
        .startsWith("portals[1].address"));
  }

  @Test
  void unreadableAndMalformedFilesAreNamed(@TempDir Path dir) throws Exception {
    Path missing = dir.resolve("missing.json");
    assertTrue(assertThrows(ConfigException.class, () -> ServerConfig.load(missing)).getMessage()
        .contains("missing.json: cannot read"));
    Path bad = Files.writeString(dir.resolve("bad.json"), "{ \"portals\": [ ");
    assertTrue(assertThrows(ConfigException.class, () -> ServerConfig.load(bad)).getMessage()
        .contains("not valid JSON"));
  }

  private static void set(JsonObject root, String pointer, Object value) {
    String[] parts = pointer.substring(1).split("/");
    Object cur = root;
    for (int i = 0; i < parts.length - 1; i++) {
      cur = cur instanceof JsonObject o ? o.getValue(parts[i])
          : ((io.vertx.core.json.JsonArray) cur).getValue(Integer.parseInt(parts[i]));
    }
    ((JsonObject) cur).put(parts[parts.length - 1], value);
  }
}
