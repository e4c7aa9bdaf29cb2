package io.spindle.server.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.initiator.Await;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.IscsiInitiator;
import io.spindle.initiator.Session;
import io.spindle.server.SpindleServer;
import io.spindle.server.config.ServerConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 21, case 3: idle connections from 20 source addresses (127.0.0.10-29), reconnecting as the
 * server closes them, fill the login slots for unknown peers; an initiator that the target's ACL
 * names still logs in, on the share kept for it ({@code login.reservedForAclPercent}), while a
 * name no ACL lists is answered 0x0302.
 */
class CrowdingIT {

  static final String TARGET = "iqn.2026-11.io.spindle:crowded";
  static final String CLIENT = "iqn.2026-11.io.spindle:known";
  static final int PER_ADDRESS = 8;
  static final int ADDRESSES = 20;

  static Vertx vertx;
  static SpindleServer server;
  static int port;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    JsonObject config = new JsonObject()
        .put("portals", new JsonArray().add(new JsonObject().put("address", "127.0.0.1:0")))
        .put("targets", new JsonArray().add(new JsonObject().put("name", TARGET)
            .put("luns", new JsonArray().add(new JsonObject().put("lun", 0).put("backing", "memory").put("size", "4M")))
            .put("acl", new JsonArray().add(new JsonObject().put("initiator", CLIENT)))))
        .put("negotiation", new JsonObject().put("loginTimeout", 3))
        // 80 logins at once, 20 of them kept for ACL-named initiators; the flood could hold 160.
        .put("login", new JsonObject().put("maxPerAddress", PER_ADDRESS).put("maxTotal", 80)
            .put("reservedForAclPercent", 25));
    server = SpindleServer.start(vertx, ServerConfig.fromJson(config)).await(30, TimeUnit.SECONDS);
    port = server.ports().get(0);
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) server.stop().await(30, TimeUnit.SECONDS);
    if (vertx != null) vertx.close().await(10, TimeUnit.SECONDS);
  }

  /** Keeps PER_ADDRESS idle connections open from each flood address, reconnecting those the server closed. */
  private static Thread flood(AtomicBoolean stop, AtomicLong connects) {
    Thread t = new Thread(() -> {
      List<List<Socket>> held = new ArrayList<>();
      for (int a = 0; a < ADDRESSES; a++) held.add(new ArrayList<>());
      while (!stop.get()) {
        for (int a = 0; a < ADDRESSES; a++) {
          List<Socket> mine = held.get(a);
          mine.removeIf(CrowdingIT::closedByServer);
          while (mine.size() < PER_ADDRESS && !stop.get()) {
            try {
              Socket s = new Socket();
              s.bind(new InetSocketAddress("127.0.0." + (10 + a), 0));
              s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
              s.setSoTimeout(1);
              mine.add(s);
              connects.incrementAndGet();
            } catch (IOException e) {
              break;
            }
          }
        }
        try {
          Thread.sleep(20);
        } catch (InterruptedException e) {
          return;
        }
      }
      held.forEach(l -> l.forEach(s -> {
        try {
          s.close();
        } catch (IOException ignored) {
          // closing anyway
        }
      }));
    }, "crowding-flood");
    t.start();
    return t;
  }

  private static boolean closedByServer(Socket s) {
    try {
      if (s.getInputStream().read() < 0) {
        s.close();
        return true;
      }
      return false;
    } catch (SocketTimeoutException idle) {
      return false;
    } catch (IOException gone) {
      return true;
    }
  }

  @Test
  void anAclNamedInitiatorLogsInDuringAFloodOfIdleConnections() throws Exception {
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong connects = new AtomicLong();
    Thread flood = flood(stop, connects);
    int ok = 0;
    int strangerStatus;
    long worstMs = 0;
    try {
      Thread.sleep(1500); // the flood has filled the unreserved slots
      try (RawPeer stranger = new RawPeer("127.0.0.2", port, 0)) {
        strangerStatus = stranger.login("iqn.2026-11.io.spindle:stranger", TARGET);
      }
      IscsiInitiator ini = IscsiInitiator.create(vertx,
          new InitiatorOptions().setInitiatorName(CLIENT).setLoginTimeoutMillis(10_000));
      try {
        for (int i = 0; i < 5; i++) {
          long t0 = System.nanoTime();
          Session s = Await.result(ini.login("127.0.0.1", port, TARGET));
          worstMs = Math.max(worstMs, (System.nanoTime() - t0) / 1_000_000);
          Await.result(s.logout());
          ok++;
        }
      } finally {
        Await.result(ini.close());
      }
    } finally {
      stop.set(true);
      flood.join(30_000);
    }
    System.out.println("CrowdingIT: " + connects.get() + " idle connections from " + ADDRESSES + " addresses;"
        + " a name in no ACL got 0x" + Integer.toHexString(strangerStatus) + "; the ACL-named initiator logged in "
        + ok + " of 5 times, the slowest in " + worstMs + " ms");
    assertEquals(0x0302, strangerStatus, "the flood fills the unreserved slots: an unknown name is refused");
    assertEquals(5, ok);
    assertTrue(connects.get() > ADDRESSES * PER_ADDRESS, "the flood reconnected as it was closed");
  }
}
