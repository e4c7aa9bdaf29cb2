package io.spindle.initiator;

import io.spindle.initiator.impl.InitiatorImpl;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.List;

/**
 * The project's iSCSI initiator (RFC 7143) over Vert.x TCP. One instance holds one
 * {@code NetClient}; each connection gets its own event-loop context.
 *
 * <pre>{@code
 * IscsiInitiator initiator = IscsiInitiator.create(vertx, new InitiatorOptions());
 * Session s = Await.result(initiator.login("127.0.0.1", 3260, "iqn.2026-11.io.spindle:disk1"));
 * try (ScsiResponse r = Await.result(s.read(0, 0, 8, 512))) { ... r.data() ... }
 * Await.result(s.logout());
 * Await.result(initiator.close());
 * }</pre>
 */
public interface IscsiInitiator {

  static IscsiInitiator create(Vertx vertx, InitiatorOptions options) {
    return new InitiatorImpl(vertx, new InitiatorOptions(options));
  }

  InitiatorOptions options();

  /**
   * Discovery session (SessionType=Discovery), Text {@code SendTargets=All}, logout: the
   * targets the portal reports (RFC 7143 Appendix C).
   */
  Future<List<DiscoveredTarget>> discover(String host, int port);

  /** Logs in to {@code targetName} as a new session with the next ISID qualifier. */
  Future<Session> login(String host, int port, String targetName);

  /** Logs in with an explicit 48-bit ISID (reusing one with TSIH 0 asks the target to reinstate the old session). */
  Future<Session> login(String host, int port, String targetName, long isid);

  /** A bare connection with the codec installed and no login: for tests that speak the protocol themselves. */
  Future<Connection> connect(String host, int port);

  /** Closes the NetClient and with it every connection this initiator opened. */
  Future<Void> close();
}
