package io.spindle.server.realpeers;

import static io.spindle.server.realpeers.RealPeers.IQN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.server.config.ServerConfig;
import io.spindle.server.realpeers.RealPeers.Running;
import io.spindle.server.realpeers.RealPeers.ToolRun;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A plain iSCSI/TCP initiator on an {@code iser-iwarp} portal: libiscsi's tools never send
 * RDMAExtensions (as open-iscsi's iscsi_tcp does not), so the login stays iSCSI/TCP and runs exactly
 * as on the TCP portal (RFC 7145 §6.3: the target answers the key, it does not initiate it). Before
 * that rule the target offered RDMAExtensions=Yes, libiscsi never answered it and the login failed.
 */
class LibiscsiOnIserPortalIT {

  @TempDir
  static Path dir;
  private static Running server;

  @BeforeAll
  static void start() throws Exception {
    if (!RealPeers.onPath("iscsi-inq")) return;
    server = Running.start(ServerConfig.fromJson(new JsonObject()
        .put("portals", new JsonArray()
            .add(new JsonObject().put("address", "127.0.0.1:0"))
            // ServerConfig refuses one address twice, port 0 included: another loopback address.
            .add(new JsonObject().put("address", "127.0.0.2:0").put("transport", "iser-iwarp")))
        .put("targets", new JsonArray().add(new JsonObject().put("name", IQN).put("acl", "any")
            .put("luns", new JsonArray().add(RealPeers.memoryLun(0, "16M")))))));
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) server.close();
  }

  @BeforeEach
  void needsLibiscsi() {
    RealPeers.assumeTool("iscsi-inq", "libiscsi-bin");
  }

  private static String lun(String host, int port) {
    return "iscsi://" + host + ":" + port + "/" + IQN + "/0";
  }

  /** What the target answered in the login, as libiscsi's debug output (level 6) lists it. */
  private static List<String> loginReplies(ToolRun r) {
    return r.output().lines().filter(l -> l.contains("TargetLoginReply:"))
        .map(l -> l.substring(l.indexOf("TargetLoginReply:"))).toList();
  }

  @Test
  void iscsiInqLogsInOnTheIserPortalWithTheSameAnswersAsOnTheTcpPortal() throws Exception {
    ToolRun tcp = RealPeers.run(dir, "env", "LIBISCSI_DEBUG=6", "iscsi-inq",
        lun("127.0.0.1", server.server.ports().get(0))).assertSucceeded();
    ToolRun iser = RealPeers.run(dir, "env", "LIBISCSI_DEBUG=6", "iscsi-inq",
        lun("127.0.0.2", server.server.ports().get(1))).assertSucceeded();
    assertTrue(iser.output().contains("Vendor:SPINDLE"), iser::describe);
    List<String> onIser = loginReplies(iser);
    assertTrue(onIser.stream().anyMatch(l -> l.startsWith("TargetLoginReply: MaxRecvDataSegmentLength=")),
        iser::describe);
    assertTrue(onIser.stream().noneMatch(l -> l.contains("RDMAExtensions")), iser::describe);
    assertEquals(loginReplies(tcp), onIser, () -> "TCP portal:\n" + tcp.describe() + "\niSER portal:\n" + iser.describe());
  }

  @Test
  void discoveryOnTheIserPortalListsBothPortals() throws Exception {
    ToolRun r = RealPeers.run(dir, "iscsi-ls", "-s", "iscsi://127.0.0.2:" + server.server.ports().get(1))
        .assertSucceeded();
    List<String> lines = r.output().lines().map(String::strip).toList();
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("Target:" + IQN + " Portal:127.0.0.2:" + server.server.ports().get(1))),
        r::describe);
    assertTrue(lines.stream().anyMatch(l -> l.matches("Lun:0\\s+Type:DIRECT_ACCESS.*")), r::describe);
  }
}
