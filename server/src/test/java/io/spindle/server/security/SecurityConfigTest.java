package io.spindle.server.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.server.config.ConfigException;
import io.spindle.server.config.ServerConfig;
import io.spindle.server.config.TargetConfig;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The security parts of the config: ACL required or explicitly "any", CHAP credentials, LUN maps, secrets kept out of views. */
class SecurityConfigTest {

  private static JsonObject config(Object acl) {
    JsonObject t = new JsonObject().put("name", "iqn.2026-11.io.spindle:t").put("luns", new JsonArray()
        .add(new JsonObject().put("lun", 0).put("backing", "memory").put("size", "1M"))
        .add(new JsonObject().put("lun", 3).put("backing", "memory").put("size", "1M")));
    if (acl != null) t.put("acl", acl);
    return new JsonObject().put("portals", new JsonArray().add(new JsonObject().put("address", "127.0.0.1:3260")))
        .put("targets", new JsonArray().add(t));
  }

  private static JsonObject entry(String secret) {
    return new JsonObject().put("initiator", "iqn.2026-11.io.spindle:client")
        .put("chap", new JsonObject().put("user", "client").put("secret", secret));
  }

  private static String error(JsonObject j) {
    return assertThrows(ConfigException.class, () -> ServerConfig.fromJson(j)).getMessage();
  }

  @Test
  void aTargetWithoutAclIsRefusedWithAClearMessage() {
    String m = error(config(null));
    assertTrue(m.startsWith("targets[0].acl: required"), m);
    assertTrue(m.contains("\"any\""), m);
    assertNull(ServerConfig.fromJson(config("any")).targets().get(0).acl());
    assertTrue(error(config("all")).contains("targets[0].acl"));
    assertTrue(error(config(new JsonArray())).contains("targets[0].acl"));
  }

  @Test
  void chapCredentialsAreChecked() {
    assertTrue(error(config(new JsonArray().add(entry("short")))).contains("acl[0].chap.secret: must be 12"));
    assertFalse(error(config(new JsonArray().add(entry("short")))).contains("short\""), "the secret is never echoed");
    JsonObject same = entry("client-secret-1234")
        .put("mutualChap", new JsonObject().put("user", "target").put("secret", "client-secret-1234"));
    assertTrue(error(config(new JsonArray().add(same))).contains("mutualChap.secret: must differ"));
    JsonObject onlyMutual = new JsonObject().put("initiator", "iqn.2026-11.io.spindle:client")
        .put("mutualChap", new JsonObject().put("user", "target").put("secret", "target-secret-5678"));
    assertTrue(error(config(new JsonArray().add(onlyMutual))).contains("mutualChap: needs \"chap\""));
    JsonObject bad = config("any");
    bad.getJsonArray("targets").getJsonObject(0).put("chapAlgorithms", new JsonArray().add("MD4"));
    assertTrue(error(bad).contains("chapAlgorithms[0]"));
  }

  @Test
  void lunMapsMustNameTheTargetsLuns() {
    JsonObject mapped = entry("client-secret-1234").put("luns", new JsonArray().add(0)
        .add(new JsonObject().put("lun", 1).put("targetLun", 3)));
    TargetConfig t = ServerConfig.fromJson(config(new JsonArray().add(mapped))).targets().get(0);
    assertEquals(Map.of(0, 0, 1, 3), t.acl().get(0).luns());
    JsonObject missing = entry("client-secret-1234").put("luns", new JsonArray().add(7));
    assertTrue(error(config(new JsonArray().add(missing))).contains("the target has no LUN 7"));
  }

  @Test
  void secretsRoundTripButNeverShowInTheRedactedView() {
    ServerConfig c = ServerConfig.fromJson(config(new JsonArray().add(entry("client-secret-1234"))));
    assertEquals(c.toJson(), ServerConfig.fromJson(c.toJson()).toJson());
    assertTrue(c.toJson().encode().contains("client-secret-1234"));
    assertFalse(c.toJson(false).encode().contains("client-secret-1234"));
    assertFalse(c.targets().get(0).acl().get(0).chap().toString().contains("client-secret"));
    // The redacted view cannot be fed back by mistake.
    assertTrue(error(c.toJson(false)).contains("redacted"));
  }

  @Test
  void theChapExampleLoads() {
    ServerConfig c = ServerConfig.load(Path.of("../ops/examples/chap.json"));
    TargetConfig t = c.target("iqn.2026-11.io.spindle:chap");
    assertEquals("client", t.aclEntry("iqn.2026-11.io.spindle:client").chap().user());
    assertEquals("target", t.aclEntry("iqn.2026-11.io.spindle:client").mutualChap().user());
    assertNull(t.aclEntry("iqn.2026-11.io.spindle:other"));
    ServerConfig.load(Path.of("../ops/examples/spindle.json"));
  }

  @Test
  void discoveryAndLoginSections() {
    JsonObject j = config("any").put("discovery", new JsonObject()
        .put("chap", new JsonObject().put("user", "disc").put("secret", "discovery-secret-1")))
        .put("login", new JsonObject().put("maxPerAddress", 8).put("maxTotal", 64));
    ServerConfig c = ServerConfig.fromJson(j);
    assertEquals("disc", c.discovery().chap().user());
    assertEquals(8, c.login().maxPerAddress());
    assertTrue(error(config("any").put("login", new JsonObject().put("maxPerAddress", 100).put("maxTotal", 10)))
        .contains("login.maxPerAddress"));
  }
}
