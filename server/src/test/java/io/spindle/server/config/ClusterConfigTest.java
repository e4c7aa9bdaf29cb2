package io.spindle.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.cluster.ClusterOptions;
import io.vertx.core.json.JsonObject;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The {@code "cluster"} section as README "Cluster" / "Configuration" documents it. */
class ClusterConfigTest {

  private static JsonObject with(String cluster) {
    return new JsonObject("""
        {"portals":[{"address":"127.0.0.11:3260"}],
         "targets":[{"name":"iqn.2026-11.io.spindle:a","acl":"any","luns":[{"lun":0,"backing":"memory","size":"16M"}]}],
         "cluster": %s}
        """.formatted(cluster));
  }

  @Test
  void theAgreedFormatParses() {
    ServerConfig c = ServerConfig.fromJson(with("""
        {"name":"spindle","node":"node-a","address":"127.0.0.11:5701",
         "members":["127.0.0.11:5701","127.0.0.12:5701","127.0.0.13:5701"],"eventBusAddress":"127.0.0.11:0"}"""));
    ClusterOptions o = c.cluster().options();
    assertEquals("spindle", o.name());
    assertEquals("node-a", o.node());
    assertEquals("127.0.0.11", o.host());
    assertEquals(5701, o.port());
    assertEquals(List.of("127.0.0.11:5701", "127.0.0.12:5701", "127.0.0.13:5701"), o.members());
    assertEquals("127.0.0.11", o.eventBusHost());
    assertEquals(0, o.eventBusPort());
    // toJson reads back to the same meaning.
    assertEquals(c.cluster(), ServerConfig.fromJson(c.toJson()).cluster());
  }

  @Test
  void theEventBusDefaultsToTheMemberHostAndAnyPort() {
    ClusterConfig c = ServerConfig.fromJson(with("""
        {"name":"s","node":"b","address":"127.0.0.12:5701","members":["127.0.0.11:5701"]}""")).cluster();
    assertEquals("127.0.0.12", c.eventBus().host());
    assertEquals(0, c.eventBus().port());
  }

  @Test
  void noSectionIsStandalone() {
    JsonObject j = with("{}");
    j.remove("cluster");
    assertNull(ServerConfig.fromJson(j).cluster());
    assertTrue(!ServerConfig.fromJson(j).toJson().containsKey("cluster"));
  }

  @Test
  void mistakesNameTheirField() {
    assertEquals("cluster.nodes: unknown field (known: ", message("""
        {"name":"s","node":"a","address":"127.0.0.1:5701","members":["127.0.0.1:5701"],"nodes":[]}""")
        .substring(0, 37));
    assertEquals("cluster.name: required, a non-empty string", message("""
        {"node":"a","address":"127.0.0.1:5701","members":["127.0.0.1:5701"]}"""));
    assertEquals("cluster.node: required, a non-empty string", message("""
        {"name":"s","node":" ","address":"127.0.0.1:5701","members":["127.0.0.1:5701"]}"""));
    assertEquals("cluster.address: \"127.0.0.1\" needs a port", message("""
        {"name":"s","node":"a","address":"127.0.0.1","members":["127.0.0.1:5701"]}"""));
    assertEquals("cluster.members: must be a non-empty list of HOST:PORT", message("""
        {"name":"s","node":"a","address":"127.0.0.1:5701","members":[]}"""));
    assertEquals("cluster.members[1]: required, \"HOST:PORT\"", message("""
        {"name":"s","node":"a","address":"127.0.0.1:5701","members":["127.0.0.1:5701", 5702]}"""));
    assertEquals("cluster: must be an object", message("\"yes\""));
  }

  private static String message(String cluster) {
    return assertThrows(ConfigException.class, () -> ServerConfig.fromJson(with(cluster))).getMessage();
  }
}
