package io.spindle.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.iscsi.datamover.PortalAddress;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ListenersTest {

  static PortalConfig portal(String a) {
    return new PortalConfig(PortalAddress.parse(a), "tcp", 1, new JsonObject());
  }

  static OperationsConfig ops(String metrics, String admin) {
    OperationsConfig o = OperationsConfig.defaults();
    if (metrics != null) o = o.withMetricsAddress(PortalAddress.parse(metrics));
    if (admin != null) o = o.withAdminAddress(PortalAddress.parse(admin));
    return o;
  }

  @Test
  void aPortalOnTheAdminPortNamesBoth() {
    String m = Listeners.collision(List.of(portal("127.0.0.1:3260"), portal("127.0.0.1:9180")),
        ops(null, "127.0.0.1:9180"), Map.of());
    assertEquals("portals[1].address: 127.0.0.1:9180 collides with admin.address 127.0.0.1:9180 (each listener needs"
        + " its own port; 0.0.0.0 takes the port on every address)", m);
  }

  @Test
  void wildcardCollidesWithEveryAddressOnItsPort() {
    assertTrue(Listeners.collision(List.of(portal("0.0.0.0:9260")), ops("127.0.0.1:9260", null), Map.of())
        .contains("metrics.address 127.0.0.1:9260"));
    assertTrue(Listeners.collision(List.of(portal("[::1]:3260"), portal("[0:0:0:0:0:0:0:1]:3260")),
        OperationsConfig.defaults(), Map.of()) != null);
    assertTrue(Listeners.collision(List.of(portal("127.0.0.1:3260")), ops("[::]:3260", null), Map.of()) != null);
    assertTrue(Listeners.collision(List.of(portal("127.0.0.1:3260")), OperationsConfig.defaults(),
        Map.of("admin.address (listening)", PortalAddress.parse("0.0.0.0:3260"))) != null);
  }

  @Test
  void differentPortsAndPortZeroDoNotCollide() {
    assertNull(Listeners.collision(List.of(portal("0.0.0.0:3260"), portal("127.0.0.1:0")),
        ops("127.0.0.1:0", "127.0.0.1:9180"), Map.of()));
    assertNull(Listeners.collision(List.of(portal("127.0.0.1:3260"), portal("127.0.0.2:3260")),
        OperationsConfig.defaults(), Map.of()));
  }

  @Test
  void checkThrowsTheMessage() {
    ServerConfig c = new ServerConfig(List.of(portal("127.0.0.1:9180")), List.of(), NegotiationOptions.defaults(), 1,
        ops("127.0.0.1:9180", null));
    assertTrue(assertThrows(ConfigException.class, () -> Listeners.check(c)).getMessage()
        .startsWith("portals[0].address: 127.0.0.1:9180 collides with metrics.address"));
  }
}
