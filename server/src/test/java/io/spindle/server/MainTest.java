package io.spindle.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.server.config.ConfigException;
import io.spindle.server.config.ServerConfig;
import org.junit.jupiter.api.Test;

class MainTest {

  @Test
  void noArgumentsIsTheDemo() {
    ServerConfig c = Main.parse(new String[0]);
    assertEquals(ServerConfig.DEMO_TARGET, c.targets().get(0).name());
    assertEquals("0.0.0.0:3260", c.portals().get(0).address().toString());
  }

  @Test
  void portalOptionReplacesThePortals() {
    ServerConfig c = Main.parse(new String[] {"--portal", "127.0.0.1:3261", "--portal", "[::1]:3262"});
    assertEquals(2, c.portals().size());
    assertEquals("127.0.0.1:3261", c.portals().get(0).address().toString());
    assertEquals("[::1]:3262", c.portals().get(1).address().toString());
  }

  @Test
  void helpReturnsNothingToStart() {
    assertNull(Main.parse(new String[] {"--help"}));
    assertTrue(Main.USAGE.contains("--config FILE") && Main.USAGE.contains("--portal HOST:PORT"));
  }

  @Test
  void badArgumentsAreNamed() {
    assertTrue(assertThrows(ConfigException.class, () -> Main.parse(new String[] {"--portal", "h:port"}))
        .getMessage().startsWith("--portal:"));
    assertTrue(assertThrows(ConfigException.class, () -> Main.parse(new String[] {"--config"}))
        .getMessage().contains("--config needs a value"));
    assertTrue(assertThrows(ConfigException.class, () -> Main.parse(new String[] {"--frobnicate"}))
        .getMessage().contains("--frobnicate"));
  }

  @Test
  void adminOptionsTurnTheApiOnWithAToken() {
    ServerConfig c = Main.parse(new String[] {"--admin-token-file", "/run/token"});
    assertEquals("127.0.0.1:9180", c.operations().adminAddress().toString());
    assertEquals("/run/token", c.operations().admin().token().file().toString());
    assertTrue(assertThrows(ConfigException.class, () -> Main.parse(new String[] {"--admin-cert", "c.pem"}))
        .getMessage().contains("--admin-cert and --admin-key go together"));
    assertTrue(assertThrows(ConfigException.class, () -> Main.parse(new String[] {"--admin", "127.0.0.1:3260"}))
        .getMessage().contains("portals[0].address: 0.0.0.0:3260 collides with admin.address 127.0.0.1:3260"));
    assertTrue(Main.version().startsWith("spindle "));
  }

  @Test
  void metricsAndAdminOptionsOverrideTheFile() {
    ServerConfig c = Main.parse(new String[] {"--metrics", "127.0.0.1:9260", "--admin", "127.0.0.1:3280"});
    assertEquals("127.0.0.1:9260", c.operations().metricsAddress().toString());
    assertEquals("127.0.0.1:3280", c.operations().adminAddress().toString());
    assertTrue(assertThrows(ConfigException.class, () -> Main.parse(new String[] {"--metrics", "x:y"}))
        .getMessage().startsWith("--metrics:"));
    assertTrue(Main.USAGE.contains("--metrics HOST:PORT") && Main.USAGE.contains("--admin HOST:PORT"));
  }
}
