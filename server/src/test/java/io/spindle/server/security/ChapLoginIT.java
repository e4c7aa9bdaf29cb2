package io.spindle.server.security;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.spindle.initiator.Await;
import io.spindle.initiator.Capacity;
import io.spindle.initiator.DiscoveredTarget;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.IscsiInitiator;
import io.spindle.initiator.LoginException;
import io.spindle.initiator.ScsiResponse;
import io.spindle.initiator.Session;
import io.spindle.iscsi.auth.ChapAlgorithm;
import io.spindle.iscsi.auth.ChapIdentity;
import io.spindle.iscsi.auth.ChapSecret;
import io.spindle.server.SpindleServer;
import io.spindle.server.config.ServerConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 5 against the real server on a real socket: CHAP one-way and mutual with each algorithm,
 * ACLs, per-initiator LUN views, SendTargets filtering, attacks on CHAP, and a login flood.
 */
class ChapLoginIT {

  static final String CHAP_TARGET = "iqn.2026-11.io.spindle:chap";
  static final String OPEN_TARGET = "iqn.2026-11.io.spindle:open";
  static final String PRIVATE_TARGET = "iqn.2026-11.io.spindle:private";
  static final String CLIENT = "iqn.2026-11.io.spindle:client";
  static final String ONE_WAY = "iqn.2026-11.io.spindle:oneway";
  static final String MAPPED = "iqn.2026-11.io.spindle:mapped";
  static final String STRANGER = "iqn.2026-11.io.spindle:stranger";
  static final ChapIdentity CLIENT_CHAP = new ChapIdentity("client", ChapSecret.of("client-secret-1234"));
  static final ChapIdentity TARGET_CHAP = new ChapIdentity("target", ChapSecret.of("target-secret-5678"));
  static final int BLOCK = 512;

  static Vertx vertx;
  static SpindleServer server;
  static int port;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    JsonObject chap = new JsonObject().put("user", "client").put("secret", "client-secret-1234");
    JsonObject mutual = new JsonObject().put("user", "target").put("secret", "target-secret-5678");
    JsonObject config = new JsonObject()
        .put("portals", new JsonArray().add(new JsonObject().put("address", "127.0.0.1:0")))
        .put("targets", new JsonArray()
            .add(new JsonObject().put("name", CHAP_TARGET)
                .put("luns", new JsonArray().add(lun(0, "8M")).add(lun(1, "4M")))
                .put("acl", new JsonArray()
                    .add(new JsonObject().put("initiator", CLIENT).put("chap", chap).put("mutualChap", mutual))
                    .add(new JsonObject().put("initiator", ONE_WAY).put("chap", chap))
                    .add(new JsonObject().put("initiator", MAPPED)
                        .put("luns", new JsonArray().add(new JsonObject().put("lun", 0).put("targetLun", 1))))))
            .add(new JsonObject().put("name", OPEN_TARGET).put("acl", "any").put("luns", new JsonArray().add(lun(0, "4M"))))
            .add(new JsonObject().put("name", PRIVATE_TARGET).put("luns", new JsonArray().add(lun(0, "4M")))
                .put("acl", new JsonArray().add(new JsonObject().put("initiator", "iqn.2026-11.io.spindle:owner")))))
        .put("negotiation", new JsonObject().put("loginTimeout", 3))
        .put("login", new JsonObject().put("maxPerAddress", 32).put("maxTotal", 128));
    server = SpindleServer.start(vertx, ServerConfig.fromJson(config)).await(30, TimeUnit.SECONDS);
    port = server.ports().get(0);
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) server.stop().await(30, TimeUnit.SECONDS);
    if (vertx != null) vertx.close().await(10, TimeUnit.SECONDS);
  }

  private static JsonObject lun(int n, String size) {
    return new JsonObject().put("lun", n).put("backing", "memory").put("size", size);
  }

  private static IscsiInitiator initiator(String name, ChapIdentity self, ChapIdentity target,
      List<ChapAlgorithm> algorithms) {
    InitiatorOptions o = new InitiatorOptions().setInitiatorName(name).setChap(self).setTargetChap(target)
        .setLoginTimeoutMillis(10_000);
    if (algorithms != null) o.setChapAlgorithms(algorithms);
    return IscsiInitiator.create(vertx, o);
  }

  private static LoginException loginFails(IscsiInitiator ini, String target) {
    try {
      return assertThrows(LoginException.class, () -> Await.result(ini.login("127.0.0.1", port, target)));
    } finally {
      Await.result(ini.close());
    }
  }

  private static int status(LoginException e) {
    return e.statusClass() << 8 | e.statusDetail();
  }

  /** Writes a block at {@code lba} and reads it back; a unit attention left by an earlier test is consumed first. */
  private static void writeAndRead(Session s, int lun, long lba, long seed) {
    try (ScsiResponse r = Await.result(s.testUnitReady(lun))) {
      assertTrue(r.isGood() || r.senseKey() == 0x06, "TEST UNIT READY: " + r);
    }
    byte[] bytes = new byte[BLOCK];
    new Random(seed).nextBytes(bytes);
    try (ScsiResponse w = Await.result(s.write(lun, lba, Unpooled.wrappedBuffer(bytes.clone()), BLOCK))) {
      assertTrue(w.isGood(), "write: " + w);
    }
    try (ScsiResponse r = Await.result(s.read(lun, lba, 1, BLOCK))) {
      assertTrue(r.isGood(), "read: " + r);
      byte[] got = new byte[r.data().readableBytes()];
      r.data().getBytes(r.data().readerIndex(), got);
      assertArrayEquals(bytes, got);
    }
  }

  @Test
  void mutualChapWithEachAlgorithm() {
    for (ChapAlgorithm a : ChapAlgorithm.values()) {
      IscsiInitiator ini = initiator(CLIENT, CLIENT_CHAP, TARGET_CHAP, List.of(a));
      try {
        Session s = Await.result(ini.login("127.0.0.1", port, CHAP_TARGET));
        writeAndRead(s, 0, a.code, a.code);
        Await.result(s.logout());
      } finally {
        Await.result(ini.close());
      }
    }
  }

  @Test
  void oneWayChapWithEachAlgorithm() {
    for (ChapAlgorithm a : ChapAlgorithm.values()) {
      IscsiInitiator ini = initiator(ONE_WAY, CLIENT_CHAP, null, List.of(a));
      try {
        Session s = Await.result(ini.login("127.0.0.1", port, CHAP_TARGET));
        writeAndRead(s, 1, a.code, 100 + a.code);
        Await.result(s.logout());
      } finally {
        Await.result(ini.close());
      }
    }
  }

  @Test
  void wrongSecretOrNoChapIsAnAuthenticationFailure() {
    ChapIdentity wrong = new ChapIdentity("client", ChapSecret.of("client-secret-WRONG"));
    assertEquals(0x0201, status(loginFails(initiator(CLIENT, wrong, TARGET_CHAP, null), CHAP_TARGET)));
    ChapIdentity otherUser = new ChapIdentity("someone", ChapSecret.of("client-secret-1234"));
    assertEquals(0x0201, status(loginFails(initiator(CLIENT, otherUser, TARGET_CHAP, null), CHAP_TARGET)));
    assertEquals(0x0201, status(loginFails(initiator(CLIENT, null, null, null), CHAP_TARGET)));
    // Mutual CHAP asked of a target whose ACL entry has no target secret.
    assertEquals(0x0201, status(loginFails(initiator(ONE_WAY, CLIENT_CHAP, TARGET_CHAP, null), CHAP_TARGET)));
  }

  @Test
  void initiatorDropsATargetThatFailsMutualChap() {
    ChapIdentity impostor = new ChapIdentity("target", ChapSecret.of("not-the-target-secret"));
    LoginException e = loginFails(initiator(CLIENT, CLIENT_CHAP, impostor, null), CHAP_TARGET);
    assertEquals(LoginException.CLASS_PROTOCOL, e.statusClass(), e.getMessage());
    assertTrue(e.getMessage().contains("CHAP"), e.getMessage());
  }

  @Test
  void aclDecidesWhoLogsInAndNonexistentTargetsGiveNoHint() {
    assertEquals(0x0202, status(loginFails(initiator(STRANGER, CLIENT_CHAP, TARGET_CHAP, null), CHAP_TARGET)));
    assertEquals(0x0202, status(loginFails(initiator(STRANGER, null, null, null), PRIVATE_TARGET)));
    LoginException missing = loginFails(initiator(CLIENT, null, null, null), "iqn.2026-11.io.spindle:nothing");
    assertEquals(0x0203, status(missing));
    assertEquals(null, missing.targetAddress());
    IscsiInitiator open = initiator(STRANGER, null, null, null);
    try {
      Await.result(Await.result(open.login("127.0.0.1", port, OPEN_TARGET)).logout());
    } finally {
      Await.result(open.close());
    }
  }

  @Test
  void sendTargetsShowsOnlyTargetsTheInitiatorMayLogInTo() {
    assertEquals(List.of(CHAP_TARGET, OPEN_TARGET), discover(CLIENT));
    assertEquals(List.of(OPEN_TARGET), discover(STRANGER));
    assertEquals(List.of(OPEN_TARGET, PRIVATE_TARGET), discover("iqn.2026-11.io.spindle:owner"));
  }

  private static List<String> discover(String initiatorName) {
    IscsiInitiator ini = initiator(initiatorName, null, null, null);
    try {
      List<String> names = new ArrayList<>();
      for (DiscoveredTarget t : Await.result(ini.discover("127.0.0.1", port))) names.add(t.name());
      names.sort(null);
      return names;
    } finally {
      Await.result(ini.close());
    }
  }

  @Test
  void anAclEntrySeesOnlyItsLunsUnderItsOwnNumbers() {
    IscsiInitiator ini = initiator(MAPPED, null, null, null);
    try {
      Session s = Await.result(ini.login("127.0.0.1", port, CHAP_TARGET));
      try (ScsiResponse r = Await.result(s.testUnitReady(0))) {
        assertTrue(r.isGood() || r.senseKey() == 0x06, r.toString());
      }
      Capacity c = Await.result(s.readCapacity16(0));
      assertEquals(4L * 1024 * 1024, c.bytes(), "LUN 0 of this initiator is the target's 4M LUN 1");
      // REPORT LUNS lists LUN 0 only (SPC-4 6.33: 8-byte header, then one 8-byte entry).
      byte[] cdb = new byte[12];
      cdb[0] = (byte) 0xA0;
      cdb[9] = 64;
      try (ScsiResponse r = Await.result(s.command(0, cdb, null, 64))) {
        assertTrue(r.isGood(), r.toString());
        assertEquals(8, r.data().getInt(r.data().readerIndex()), "LUN list length");
      }
      try (ScsiResponse r = Await.result(s.testUnitReady(1))) {
        assertFalse(r.isGood(), "LUN 1 is not mapped for this initiator");
      }
      Await.result(s.logout());
    } finally {
      Await.result(ini.close());
    }
  }

  /** A full legitimate exchange on one connection: returns the challenge's identifier, challenge and our response. */
  private static String[] chapExchange(RawLogin c) throws Exception {
    RawLogin.Response r = c.security("InitiatorName=" + ONE_WAY, "SessionType=Normal", "TargetName=" + CHAP_TARGET,
        "AuthMethod=CHAP");
    assertEquals(0, r.status());
    assertEquals("CHAP", r.keys().get("AuthMethod"));
    r = c.security("CHAP_A=5");
    assertEquals("5", r.keys().get("CHAP_A"));
    return new String[] {r.keys().get("CHAP_I"), r.keys().get("CHAP_C")};
  }

  @Test
  void aResponseReplayedOnANewConnectionFails() throws Exception {
    String stolen;
    try (RawLogin first = new RawLogin(port, 0x4000_0000_0001L)) {
      String[] ch = chapExchange(first);
      stolen = RawLogin.hex(ChapAlgorithm.MD5.response(Integer.parseInt(ch[0]),
          "client-secret-1234".getBytes(StandardCharsets.UTF_8), RawLogin.hex(ch[1])));
      RawLogin.Response ok = first.security("CHAP_N=client", "CHAP_R=" + stolen);
      assertEquals(0, ok.status(), "the legitimate response is accepted");
      assertTrue(ok.transit());
    }
    try (RawLogin second = new RawLogin(port, 0x4000_0000_0002L)) {
      chapExchange(second);
      assertEquals(0x0201, second.security("CHAP_N=client", "CHAP_R=" + stolen).status());
    }
  }

  @Test
  void reflectedChallengeIsRefused() throws Exception {
    // Mutual CHAP where the "initiator" sends the target's own challenge back, hoping to learn the
    // answer to it (RFC 7143 §12.1.3 reflection attack).
    try (RawLogin c = new RawLogin(port, 0x4000_0000_0003L)) {
      RawLogin.Response r = c.security("InitiatorName=" + CLIENT, "SessionType=Normal", "TargetName=" + CHAP_TARGET,
          "AuthMethod=CHAP");
      assertEquals("CHAP", r.keys().get("AuthMethod"));
      r = c.security("CHAP_A=5");
      int id = Integer.parseInt(r.keys().get("CHAP_I"));
      byte[] challenge = RawLogin.hex(r.keys().get("CHAP_C"));
      String answer = RawLogin.hex(ChapAlgorithm.MD5.response(id, "client-secret-1234".getBytes(StandardCharsets.UTF_8),
          challenge));
      RawLogin.Response refused = c.security("CHAP_N=client", "CHAP_R=" + answer, "CHAP_I=" + id,
          "CHAP_C=" + r.keys().get("CHAP_C"));
      assertEquals(0x0201, refused.status());
      assertFalse(refused.keys().containsKey("CHAP_R"), "the target must not answer its own challenge");
    }
  }

  @Test
  void aLoginFloodDoesNotKeepAWellBehavedInitiatorOut() throws Exception {
    // 200 connections from another loopback address: half stay silent (half-open logins), half send
    // garbage. The flood is bounded and ends with this test; the server must keep serving others.
    InetAddress flooder = InetAddress.getByName("127.0.0.2");
    List<Socket> flood = new ArrayList<>();
    Random random = new Random(5);
    int refused = 0;
    try {
      for (int i = 0; i < 200; i++) {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(flooder, 0));
        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        flood.add(s);
        if (i % 2 == 1) {
          byte[] junk = new byte[64 + random.nextInt(256)];
          random.nextBytes(junk);
          try {
            s.getOutputStream().write(junk);
          } catch (SocketException closed) {
            // refused or already dropped by the server: what a flood should meet
          }
        }
      }
      IscsiInitiator ini = initiator(CLIENT, CLIENT_CHAP, TARGET_CHAP, null);
      try {
        Session s = Await.result(ini.login("127.0.0.1", port, CHAP_TARGET), Duration.ofSeconds(30));
        writeAndRead(s, 0, 4000, 77);
        Await.result(s.logout());
      } finally {
        Await.result(ini.close());
      }
      // Past login.maxPerAddress (32), the silent connections of the flood were closed on accept.
      for (int i = 0; i < flood.size(); i += 2) {
        if (closedByServer(flood.get(i))) refused++;
      }
      assertTrue(refused >= 100 - 32, "silent flood connections closed: " + refused);
    } finally {
      for (Socket s : flood) s.close();
    }
    // Every login slot is given back once the flood is gone.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (server.iscsi().loginsInProgress() > 0 && System.nanoTime() < deadline) Thread.sleep(50);
    assertEquals(0, server.iscsi().loginsInProgress());
  }

  private static boolean closedByServer(Socket s) throws Exception {
    s.setSoTimeout(200);
    try {
      InputStream in = s.getInputStream();
      return in.read() < 0;
    } catch (SocketTimeoutException stillOpen) {
      return false;
    } catch (SocketException reset) {
      return true;
    }
  }
}
