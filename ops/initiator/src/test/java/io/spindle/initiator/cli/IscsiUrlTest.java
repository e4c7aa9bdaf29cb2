package io.spindle.initiator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.spindle.initiator.InitiatorOptions;
import org.junit.jupiter.api.Test;

class IscsiUrlTest {

  @Test
  void iscsiSchemeIsTcpAndIserSchemeIsIserOverIwarp() {
    IscsiUrl tcp = IscsiUrl.parse("iscsi://10.0.0.1/iqn.2026-11.io.spindle:demo/3");
    assertEquals(new IscsiUrl("10.0.0.1", 3260, "iqn.2026-11.io.spindle:demo", 3, InitiatorOptions.TRANSPORT_TCP), tcp);
    IscsiUrl iser = IscsiUrl.parse("iser://127.0.0.1:3261/iqn.2026-11.io.spindle:demo/0");
    assertEquals(InitiatorOptions.TRANSPORT_ISER_IWARP, iser.transport());
    assertEquals(3261, iser.port());
    assertEquals(InitiatorOptions.TRANSPORT_TCP, iser.withTransport(InitiatorOptions.TRANSPORT_TCP).transport());
    assertThrows(IllegalArgumentException.class, () -> IscsiUrl.parse("nbd://host/x"));
  }

  @Test
  void unknownTransportIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new InitiatorOptions().setTransport("iser-disni"));
    assertEquals(InitiatorOptions.TRANSPORT_TCP, new InitiatorOptions().getTransport());
    assertEquals(InitiatorOptions.TRANSPORT_ISER_IWARP, new InitiatorOptions(
        new InitiatorOptions().setTransport(InitiatorOptions.TRANSPORT_ISER_IWARP)).getTransport());
  }
}
