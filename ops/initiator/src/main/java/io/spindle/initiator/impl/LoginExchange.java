package io.spindle.initiator.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.spindle.initiator.ConnectionClosedException;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.LoginException;
import io.spindle.initiator.NegotiatedParameters;
import io.spindle.initiator.RequestTimeoutException;
import io.spindle.iscsi.pdu.LoginRequestPdu;
import io.spindle.iscsi.pdu.LoginResponsePdu;
import io.spindle.iscsi.pdu.Pdu;
import io.spindle.iscsi.text.TextKeys;
import io.spindle.iscsi.text.TextKeys.Pair;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Drives one login (RFC 7143 §6.3, §11.12) on a fresh connection: the security stage with
 * AuthMethod=None (or none at all), then the operational stage, stepping with the T bit,
 * fetching C-bit continued answers with empty requests, until the target transits to full
 * feature phase. Completes with what the session needs to start numbering commands.
 */
final class LoginExchange implements ConnectionImpl.Listener {

  /** RFC 7143 §6.3: stages of the CSG/NSG fields. */
  static final int SECURITY = 0;
  static final int OPERATIONAL = 1;
  static final int FULL_FEATURE = 3;
  /** Bound on request/response rounds, so a target that never transits cannot keep us forever. */
  private static final int MAX_ROUNDS = 16;
  static final int LOGIN_ITT = 0;

  /** What a completed login hands to the session. */
  record Result(long isid, int tsih, int cmdSn, int expStatSn, int expCmdSn, int maxCmdSn,
      NegotiatedParameters parameters) {
  }

  private final ConnectionImpl connection;
  private final InitiatorOptions options;
  private final String targetName;
  private final long isid;
  private final int cmdSn = 1;
  private final Promise<Result> promise;
  private final List<Pair> fromTarget = new ArrayList<>();
  private final Set<String> offered = new HashSet<>();
  private CompositeByteBuf partial;
  private int stage;
  private int expStatSn;
  private int rounds;
  private long timer = -1;

  LoginExchange(ConnectionImpl connection, InitiatorOptions options, String targetName, long isid) {
    this.connection = connection;
    this.options = options;
    this.targetName = targetName;
    this.isid = isid;
    this.promise = connection.context().promise();
  }

  /** Starts on the connection's context. */
  Future<Result> start() {
    connection.listener(this);
    timer = connection.context().owner().setTimer(options.getLoginTimeoutMillis(), id -> {
      timer = -1;
      failAndClose(new RequestTimeoutException("login did not complete within " + options.getLoginTimeoutMillis()
          + " ms"));
    });
    List<Pair> keys = LoginKeys.identity(options, targetName);
    if (options.isSecurityNegotiation()) {
      stage = SECURITY;
      keys.add(new Pair("AuthMethod", "None"));
      send(SECURITY, OPERATIONAL, true, keys);
    } else {
      stage = OPERATIONAL;
      keys.addAll(offer());
      send(OPERATIONAL, FULL_FEATURE, true, keys);
    }
    return promise.future();
  }

  private List<Pair> offer() {
    List<Pair> keys = LoginKeys.offer(options, targetName == null);
    for (Pair p : keys) offered.add(p.key());
    return keys;
  }

  private void send(int csg, int nsg, boolean transit, List<Pair> keys) {
    if (++rounds > MAX_ROUNDS) {
      failAndClose(new LoginException("no transit to full feature phase after " + MAX_ROUNDS + " rounds"));
      return;
    }
    LoginRequestPdu req = new LoginRequestPdu();
    req.transit(transit).stages(csg, transit ? nsg : 0);
    req.isid(isid).tsih(0).cid(0).itt(LOGIN_ITT);
    req.cmdSn(cmdSn).expStatSn(expStatSn);
    ByteBuf text = TextKeys.encode(keys);
    req.data(text);
    connection.write(req);
  }

  @Override
  public void onPdu(Pdu pdu) {
    if (promise.future().isComplete()) return;
    if (!(pdu instanceof LoginResponsePdu r)) {
      failAndClose(new LoginException("expected a Login Response, received " + pdu));
      return;
    }
    // RFC 7143 §11.13.4: the first response sets StatSN; we acknowledge each one.
    expStatSn = r.statSn() + 1;
    if (r.statusClass() != LoginException.CLASS_SUCCESS) {
      String redirect = null;
      try {
        for (Pair p : TextKeys.parse(r.data())) if (p.key().equals("TargetAddress")) redirect = p.value();
      } catch (TextKeys.MalformedTextException ignored) {
        // The status is what matters; a malformed redirect just goes unreported.
      }
      failAndClose(new LoginException(r.statusClass(), r.statusDetail(), redirect));
      return;
    }
    if (r.csg() != stage) {
      failAndClose(new LoginException("target answered stage " + r.csg() + " to a request in stage " + stage));
      return;
    }
    if (r.continueBit()) {
      // RFC 7143 §11.13.2: more text follows; an empty request with C=0, T=0 fetches it.
      if (partial == null) partial = Unpooled.compositeBuffer();
      partial.addComponent(true, r.data().retainedSlice());
      send(stage, 0, false, List.of());
      return;
    }
    List<Pair> pairs;
    try {
      if (partial != null) {
        partial.addComponent(true, r.data().retainedSlice());
        pairs = TextKeys.parse(partial);
      } else {
        pairs = TextKeys.parse(r.data());
      }
    } catch (TextKeys.MalformedTextException e) {
      failAndClose(new LoginException("malformed login text: " + e.getMessage()));
      return;
    } finally {
      if (partial != null) {
        partial.release();
        partial = null;
      }
    }
    fromTarget.addAll(pairs);
    if (stage == SECURITY) {
      securityAnswer(r, pairs);
    } else {
      operationalAnswer(r, pairs);
    }
  }

  private void securityAnswer(LoginResponsePdu r, List<Pair> pairs) {
    for (Pair p : pairs) {
      if (p.key().equals("AuthMethod") && !p.value().equals("None")) {
        failAndClose(new LoginException("target requires AuthMethod=" + p.value() + ", only None is supported"));
        return;
      }
    }
    if (r.transit() && r.nsg() == OPERATIONAL) {
      stage = OPERATIONAL;
      send(OPERATIONAL, FULL_FEATURE, true, offer());
    } else if (r.transit() && r.nsg() == FULL_FEATURE) {
      // RFC 7143 §6.3: going to full feature from security is allowed; the target accepted defaults.
      finish(r);
    } else {
      send(SECURITY, OPERATIONAL, true, LoginKeys.answers(pairs, Set.of("AuthMethod")));
    }
  }

  private void operationalAnswer(LoginResponsePdu r, List<Pair> pairs) {
    if (r.transit() && r.nsg() == FULL_FEATURE) {
      finish(r);
    } else {
      send(OPERATIONAL, FULL_FEATURE, true, LoginKeys.answers(pairs, offered));
    }
  }

  private void finish(LoginResponsePdu r) {
    NegotiatedParameters params;
    try {
      params = LoginKeys.settle(options, fromTarget);
    } catch (IllegalArgumentException e) {
      failAndClose(new LoginException(e.getMessage()));
      return;
    }
    cancelTimer();
    connection.listener(null);
    promise.complete(new Result(isid, r.tsih(), cmdSn, expStatSn, r.expCmdSn(), r.maxCmdSn(), params));
  }

  private void failAndClose(Throwable cause) {
    cancelTimer();
    if (promise.tryFail(cause)) connection.closeWith(cause);
  }

  private void cancelTimer() {
    if (timer >= 0) connection.context().owner().cancelTimer(timer);
    timer = -1;
  }

  @Override
  public void onClosed(ConnectionClosedException cause) {
    cancelTimer();
    if (partial != null) {
      partial.release();
      partial = null;
    }
    promise.tryFail(new LoginException("connection closed during login: " + cause.getMessage()));
  }
}
