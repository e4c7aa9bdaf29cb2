package io.spindle.server.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.initiator.Await;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.IscsiInitiator;
import io.spindle.initiator.Session;
import io.spindle.iscsi.auth.ChapAlgorithm;
import io.spindle.iscsi.auth.ChapIdentity;
import io.spindle.iscsi.auth.ChapSecret;
import io.spindle.server.SpindleServer;
import io.spindle.server.config.ServerConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 21, cases 2 and 3: CHAP guessing is slowed, then locked out per source address, while the
 * real initiator from another address logs in at once; a login over the connection caps is answered
 * 0x0302 Out of Resources instead of a bare close. Each peer has a loopback source address of its
 * own (127.0.0.x), as separate hosts would.
 */
class LoginAbuseIT {

  static final String TARGET = "iqn.2026-11.io.spindle:guarded";
  static final String CLIENT = "iqn.2026-11.io.spindle:client";
  static final String SECRET = "client-secret-1234";
  static final int DELAY_MS = 100;
  static final int LOCKOUT_AFTER = 5;
  static final int LOCKOUT_SECONDS = 120;
  static final int MAX_PER_ADDRESS = 3;

  static Vertx vertx;
  static SpindleServer server;
  static int port;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    JsonObject chap = new JsonObject().put("user", "client").put("secret", SECRET);
    JsonObject config = new JsonObject()
        .put("portals", new JsonArray().add(new JsonObject().put("address", "127.0.0.1:0")))
        .put("targets", new JsonArray().add(new JsonObject().put("name", TARGET)
            .put("luns", new JsonArray().add(new JsonObject().put("lun", 0).put("backing", "memory").put("size", "4M")))
            .put("acl", new JsonArray().add(new JsonObject().put("initiator", CLIENT).put("chap", chap)))))
        .put("negotiation", new JsonObject().put("loginTimeout", 4))
        .put("login", new JsonObject().put("maxPerAddress", MAX_PER_ADDRESS).put("maxTotal", 64)
            .put("failureDelayMillis", DELAY_MS).put("lockoutAfter", LOCKOUT_AFTER)
            .put("lockoutSeconds", LOCKOUT_SECONDS));
    server = SpindleServer.start(vertx, ServerConfig.fromJson(config)).await(30, TimeUnit.SECONDS);
    port = server.ports().get(0);
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) server.stop().await(30, TimeUnit.SECONDS);
    if (vertx != null) vertx.close().await(10, TimeUnit.SECONDS);
  }

  /** One CHAP login from {@code from}; the response is right or wrong. Returns {status, milliseconds to the answer}. */
  private static long[] chapLogin(String from, long isid, boolean right) throws IOException {
    try (RawLogin c = new RawLogin(from, port, isid)) {
      RawLogin.Response r = c.security("InitiatorName=" + CLIENT, "SessionType=Normal", "TargetName=" + TARGET,
          "AuthMethod=CHAP");
      if (r.status() != 0) return new long[] {r.status(), 0};
      r = c.security("CHAP_A=5");
      if (r.status() != 0) return new long[] {r.status(), 0};
      int id = Integer.parseInt(r.keys().get("CHAP_I"));
      byte[] secret = (right ? SECRET : "a-wrong-guess-1234").getBytes(StandardCharsets.UTF_8);
      String answer = RawLogin.hex(ChapAlgorithm.MD5.response(id, secret, RawLogin.hex(r.keys().get("CHAP_C"))));
      long t0 = System.nanoTime();
      RawLogin.Response last = c.security("CHAP_N=client", "CHAP_R=" + answer);
      return new long[] {last.status(), (System.nanoTime() - t0) / 1_000_000};
    }
  }

  @Test
  void chapGuessingIsDelayedThenLockedOutWhileTheRealInitiatorLogsIn() throws Exception {
    String guesser = "127.0.0.2";
    List<Long> waits = new ArrayList<>();
    for (int i = 0; i < LOCKOUT_AFTER; i++) {
      long[] r = chapLogin(guesser, 0x4000_0000_1000L + i, false);
      assertEquals(0x0201, r[0], "wrong response " + (i + 1));
      waits.add(r[1]);
    }
    // Each failure's answer waits failureDelayMillis × 2^(n-1): 100, 200, 400, 800, 1600 ms (at least).
    for (int i = 0; i < LOCKOUT_AFTER; i++) {
      assertTrue(waits.get(i) >= (DELAY_MS << i) - 20, "failure " + (i + 1) + " answered after " + waits);
    }
    // Locked out: refused without checking, even with the right secret, at once.
    int attempts = 0;
    long t0 = System.nanoTime();
    for (; attempts < 20; attempts++) {
      long[] r = chapLogin(guesser, 0x4000_0000_2000L + attempts, attempts == 19);
      assertEquals(0x0201, r[0], "attempt " + attempts + " during the lockout");
    }
    long lockedMs = (System.nanoTime() - t0) / 1_000_000;
    // The real initiator, from another address (127.0.0.1), is not slowed by the guesser's failures.
    long t1 = System.nanoTime();
    IscsiInitiator ini = IscsiInitiator.create(vertx, new InitiatorOptions().setInitiatorName(CLIENT)
        .setChap(new ChapIdentity("client", ChapSecret.of(SECRET))).setLoginTimeoutMillis(10_000));
    try {
      Session s = Await.result(ini.login("127.0.0.1", port, TARGET));
      Await.result(s.logout());
    } finally {
      Await.result(ini.close());
    }
    long realMs = (System.nanoTime() - t1) / 1_000_000;
    long sum = waits.stream().mapToLong(Long::longValue).sum();
    System.out.println("LoginAbuseIT CHAP: " + LOCKOUT_AFTER + " wrong responses answered after " + waits + " ms (sum "
        + sum + "), then locked out: 20 more refused in " + lockedMs + " ms (the right one included); 1,000"
        + " attempts at this rate need >= " + (1000 / LOCKOUT_AFTER) * LOCKOUT_SECONDS + " s; the real initiator from"
        + " 127.0.0.1 logged in in " + realMs + " ms");
  }

  @Test
  void aLoginOverTheConnectionCapIsAnsweredOutOfResources() throws Exception {
    String host = "127.0.0.3";
    List<Socket> stalled = new ArrayList<>();
    try {
      for (int i = 0; i < MAX_PER_ADDRESS; i++) {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(host, 0));
        s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        stalled.add(s);
      }
      Thread.sleep(300); // the server has taken them (each holds a login slot of 127.0.0.3)
      try (RawLogin over = new RawLogin(host, port, 0x4000_0000_3000L)) {
        RawLogin.Response r = over.security("InitiatorName=iqn.2026-11.io.spindle:stranger", "SessionType=Normal",
            "TargetName=" + TARGET, "AuthMethod=CHAP");
        assertEquals(0x0302, r.status(), "a login over login.maxPerAddress is answered Out of Resources");
        System.out.println("LoginAbuseIT cap: the " + (MAX_PER_ADDRESS + 1) + "th login from " + host
            + " was answered 0x" + Integer.toHexString(r.status()));
      }
      // An initiator an ACL names goes on, on the share of slots kept for it (login.reservedForAclPercent).
      try (RawLogin acl = new RawLogin(host, port, 0x4000_0000_3001L)) {
        RawLogin.Response r = acl.security("InitiatorName=" + CLIENT, "SessionType=Normal", "TargetName=" + TARGET,
            "AuthMethod=CHAP");
        assertEquals(0, r.status(), "the ACL-named initiator's login goes on over the cap");
        assertEquals("CHAP", r.keys().get("AuthMethod"));
      }
    } finally {
      for (Socket s : stalled) s.close();
    }
  }
}
