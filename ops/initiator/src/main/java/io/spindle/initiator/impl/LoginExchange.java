package io.spindle.initiator.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.spindle.initiator.ConnectionClosedException;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.LoginException;
import io.spindle.initiator.NegotiatedParameters;
import io.spindle.initiator.RequestTimeoutException;
import io.spindle.iscsi.auth.ChapInitiator;
import io.spindle.iscsi.negotiation.ConnectionParameters;
import io.spindle.iscsi.negotiation.InitiatorNegotiator;
import io.spindle.iscsi.negotiation.Key;
import io.spindle.iscsi.negotiation.NegotiationException;
import io.spindle.iscsi.negotiation.OperationalOptions;
import io.spindle.iscsi.negotiation.SessionParameters;
import io.spindle.iscsi.negotiation.Stage;
import io.spindle.iscsi.pdu.LoginRequestPdu;
import io.spindle.iscsi.pdu.LoginResponsePdu;
import io.spindle.iscsi.pdu.Pdu;
import io.spindle.iscsi.text.TextKeys;
import io.spindle.iscsi.text.TextKeys.Pair;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Drives one login (RFC 7143 §6.3, §11.12) on a fresh connection: the security stage with
 * AuthMethod=None or CHAP (one-way or mutual, RFC 7143 §12.1.3), or no security stage, then the operational stage, stepping with the T bit,
 * fetching C-bit continued answers with empty requests, until the target transits to full
 * feature phase. The keys are negotiated by the shared {@link InitiatorNegotiator}, so the
 * initiator applies the same result rules as the target.
 *
 * <p>A leading login (TSIH 0) creates or reinstates a session; a login with the session's TSIH
 * adds a connection or, with the CID of a failed one, reinstates it (RFC 7143 §6.3.4, §7.2.3).
 */
final class LoginExchange implements ConnectionImpl.Listener {

  /** Bound on request/response rounds, so a target that never transits cannot keep us forever. */
  private static final int MAX_ROUNDS = 16;
  static final int LOGIN_ITT = 0;

  /** What a completed login hands to the session. */
  record Result(long isid, int tsih, int cid, int cmdSn, int expStatSn, int expCmdSn, int maxCmdSn,
      NegotiatedParameters parameters) {
  }

  /** Who logs in where: a new session ({@code tsih} 0, {@code session} null) or a connection of an existing one. */
  record Request(String targetName, long isid, int tsih, int cid, int cmdSn, int expStatSn,
      NegotiatedParameters session) {

    static Request leading(String targetName, long isid) {
      return new Request(targetName, isid, 0, 0, 1, 0, null);
    }
  }

  private final ConnectionImpl connection;
  private final InitiatorOptions options;
  private final Request request;
  private final InitiatorNegotiator negotiator;
  private final Promise<Result> promise;
  private final List<Pair> fromTarget = new ArrayList<>();
  private final Set<String> extraKeys = new HashSet<>();
  private CompositeByteBuf partial;
  private Stage stage;
  private int expStatSn;
  private int rounds;
  private long timer = -1;
  /** The CHAP exchange when the options carry credentials; null otherwise. */
  private final ChapInitiator chap;
  private int chapStep;
  private static final SecureRandom RANDOM = new SecureRandom();

  LoginExchange(ConnectionImpl connection, InitiatorOptions options, Request request) {
    this.connection = connection;
    this.options = options;
    this.request = request;
    this.expStatSn = request.expStatSn();
    this.negotiator = new InitiatorNegotiator(operationalOptions(options), options.getInitiatorName(),
        request.targetName());
    // RFC 7145 §6.3: RDMAExtensions is leading-only; a further connection takes the session's mode
    // (RFC 5046 style: it too moves to MPA and Hello after its login).
    if (request.session() != null) negotiator.furtherConnection(request.session().rdmaExtensions());
    for (Pair p : options.getExtraKeys()) extraKeys.add(p.key());
    this.chap = options.getChap() == null ? null
        : new ChapInitiator(options.getChap(), options.getChapAlgorithms(), options.getTargetChap(), RANDOM);
    this.promise = connection.context().promise();
  }

  /** The offer, from the initiator's options. */
  static OperationalOptions operationalOptions(InitiatorOptions o) {
    OperationalOptions ops = tcpOptions(o);
    if (o.isIser()) {
      // RFC 7145 §5.1, §6: iSER-assisted mode; our receive buffers bound what the target Sends us,
      // the target's bound what we Send (it answers with its own, Minimum). No unsolicited
      // Data-Out Sends (InitialR2T=Yes): each would take one of the target's receive buffers.
      ops.rdmaExtensions(true).initiatorRecvDataSegmentLength(IserWire.RECV_DATA_SEGMENT_LENGTH)
          .targetRecvDataSegmentLength((1 << 24) - 1).initialR2T(true).headerDigest("None").dataDigest("None");
      if (o.isIserRfc5046()) {
        // RFC 7145 §6.7 (RFC 5046 §6.7): our receive ring bounds the unexpected PDUs the target sends.
        ops.maxOutstandingUnexpectedPdus(IserWire.RECEIVE_BUFFERS);
      }
    }
    return ops;
  }

  private static OperationalOptions tcpOptions(InitiatorOptions o) {
    return new OperationalOptions()
        .headerDigest(o.getHeaderDigest())
        .dataDigest(o.getDataDigest())
        .maxRecvDataSegmentLength(o.getMaxRecvDataSegmentLength())
        .immediateData(o.isImmediateData())
        .initialR2T(o.isInitialR2t())
        .maxBurstLength(o.getMaxBurstLength())
        .firstBurstLength(Math.min(o.getFirstBurstLength(), o.getMaxBurstLength()))
        .maxOutstandingR2T(o.getMaxOutstandingR2t())
        .errorRecoveryLevel(o.getErrorRecoveryLevel())
        .maxConnections(o.getMaxConnections())
        .defaultTime2Wait(o.getDefaultTime2Wait())
        .defaultTime2Retain(o.getDefaultTime2Retain())
        .authMethods(o.getChap() != null ? "CHAP" : "None");
  }

  private boolean leading() {
    return request.session() == null;
  }

  /** Starts on the connection's context. */
  Future<Result> start() {
    connection.listener(this);
    timer = connection.context().owner().setTimer(options.getLoginTimeoutMillis(), id -> {
      timer = -1;
      failAndClose(new RequestTimeoutException("login did not complete within " + options.getLoginTimeoutMillis()
          + " ms"));
    });
    if (options.isSecurityNegotiation()) {
      stage = Stage.SECURITY;
      send(Stage.OPERATIONAL, true, negotiator.start(Stage.SECURITY));
    } else {
      stage = Stage.OPERATIONAL;
      send(Stage.FULL_FEATURE, true, withExtras(negotiator.start(Stage.OPERATIONAL)));
    }
    return promise.future();
  }

  /**
   * RFC 7143 §13: leading-only keys are not offered on a further connection of a session, the
   * session values stand. The negotiator has no such mode yet, so they are filtered here and
   * their missing answers are not held against the target (see {@link #finish}).
   */
  private List<Pair> withExtras(List<Pair> offers) {
    List<Pair> out = new ArrayList<>();
    for (Pair p : offers) {
      Key k = Key.of(p.key());
      if (!leading() && k != null && k.use == Key.Use.LEADING_ONLY && k.negotiated()) continue;
      out.add(p);
    }
    if (leading() && request.targetName() != null) out.addAll(options.getExtraKeys());
    return out;
  }

  private void send(Stage next, boolean transit, List<Pair> keys) {
    if (++rounds > MAX_ROUNDS) {
      failAndClose(new LoginException("no transit to full feature phase after " + MAX_ROUNDS + " rounds"));
      return;
    }
    LoginRequestPdu req = new LoginRequestPdu();
    req.transit(transit).stages(stage.code, transit ? next.code : 0);
    req.isid(request.isid()).tsih(request.tsih()).cid(request.cid()).itt(LOGIN_ITT);
    // RFC 7143 §11.12.6: a login on a further connection carries the session's current CmdSN.
    req.cmdSn(request.cmdSn()).expStatSn(expStatSn);
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
    if (r.csg() != stage.code) {
      failAndClose(new LoginException("target answered stage " + r.csg() + " to a request in stage " + stage));
      return;
    }
    if (r.continueBit()) {
      // RFC 7143 §11.13.2: more text follows; an empty request with C=0, T=0 fetches it.
      if (partial == null) partial = Unpooled.compositeBuffer();
      partial.addComponent(true, r.data().retainedSlice());
      send(stage, false, List.of());
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
    List<Pair> answers;
    try {
      answers = negotiator.receive(stage, withoutExtraAnswers(pairs));
    } catch (NegotiationException e) {
      failAndClose(new LoginException(e.getMessage()));
      return;
    }
    if (stage == Stage.SECURITY) {
      if ("CHAP".equals(negotiator.authMethod()) && !chapAnswer(r, answers, pairs)) return;
      securityAnswer(r, answers);
    } else {
      operationalAnswer(r, answers);
    }
  }

  /** Answers to the probing extra keys are recorded in the parameters but not negotiated. */
  private List<Pair> withoutExtraAnswers(List<Pair> pairs) {
    if (extraKeys.isEmpty()) return pairs;
    List<Pair> out = new ArrayList<>();
    for (Pair p : pairs) if (!extraKeys.contains(p.key())) out.add(p);
    return out;
  }

  /**
   * One step of CHAP (RFC 7143 §12.1.3): offer CHAP_A, answer the challenge, then check the target's
   * mutual response. Returns true once authentication is complete and the login may go on as usual.
   */
  private boolean chapAnswer(LoginResponsePdu r, List<Pair> answers, List<Pair> pairs) {
    if (chap == null) {
      failAndClose(new LoginException("target requires CHAP and no CHAP credentials are configured"));
      return false;
    }
    List<Pair> chapKeys = new ArrayList<>();
    for (Pair p : pairs) if (p.key().startsWith("CHAP_")) chapKeys.add(p);
    try {
      if (chapStep == 0) {
        chapStep = 1;
        List<Pair> out = new ArrayList<>(answers);
        out.addAll(chap.offer());
        send(Stage.OPERATIONAL, true, out);
        return false;
      }
      if (chapStep == 1) {
        chapStep = 2;
        List<Pair> out = new ArrayList<>(answers);
        out.addAll(chap.respond(chapKeys));
        send(Stage.OPERATIONAL, true, out);
        return false;
      }
      if (chapStep == 2) {
        chap.verify(chapKeys);
        chapStep = 3;
      }
    } catch (NegotiationException e) {
      // RFC 7143 §12.1.3: the initiator ends a login whose target fails to authenticate.
      failAndClose(new LoginException("CHAP: " + e.getMessage()));
      return false;
    }
    return true;
  }

  private void securityAnswer(LoginResponsePdu r, List<Pair> answers) {
    if (chap != null && !chap.complete()) {
      failAndClose(new LoginException("target " + (r.transit() ? "ended the security stage" : "answered")
          + " without completing CHAP"));
      return;
    }
    if (!"None".equals(negotiator.authMethod()) && !"CHAP".equals(negotiator.authMethod())) {
      failAndClose(new LoginException("target requires AuthMethod=" + negotiator.authMethod()
          + ", only None is supported"));
      return;
    }
    if (r.transit() && r.nsg() == Stage.OPERATIONAL.code) {
      stage = Stage.OPERATIONAL;
      List<Pair> keys = new ArrayList<>(answers);
      keys.addAll(withExtras(negotiator.operationalOffers()));
      send(Stage.FULL_FEATURE, true, keys);
    } else if (r.transit() && r.nsg() == Stage.FULL_FEATURE.code) {
      // RFC 7143 §6.3: going to full feature from security is allowed; the target accepted defaults.
      finish(r);
    } else {
      send(Stage.OPERATIONAL, true, answers);
    }
  }

  private void operationalAnswer(LoginResponsePdu r, List<Pair> answers) {
    if (r.transit() && r.nsg() == Stage.FULL_FEATURE.code) {
      finish(r);
    } else {
      send(Stage.FULL_FEATURE, true, answers);
    }
  }

  private void finish(LoginResponsePdu r) {
    NegotiatedParameters params;
    try {
      if (leading()) negotiator.finish();
      params = parameters();
    } catch (NegotiationException | IllegalArgumentException e) {
      failAndClose(new LoginException(e.getMessage()));
      return;
    }
    // RFC 7143 §11.13: a new session's TSIH comes from the final response; a further connection keeps the session's.
    int tsih = leading() ? r.tsih() : request.tsih();
    Result result = new Result(request.isid(), tsih, request.cid(), request.cmdSn(), expStatSn, r.expCmdSn(),
        r.maxCmdSn(), params);
    // RFC 5046 iSER: the connection moves to RDMA mode before it is usable (the login timer still runs).
    connection.enableDatamover(negotiator.connectionParameters().rdmaExtensions()).onComplete(ar -> {
      if (ar.failed()) {
        failAndClose(new LoginException(ar.cause().getMessage()));
        return;
      }
      if (promise.future().isComplete()) return;
      cancelTimer();
      connection.listener(null);
      promise.complete(result);
    });
  }

  private NegotiatedParameters parameters() {
    ConnectionParameters c = negotiator.connectionParameters();
    if (!leading()) {
      return request.session().withConnection(c.headerDigest(), c.dataDigest(),
          c.initiatorMaxRecvDataSegmentLength(), c.targetMaxRecvDataSegmentLength());
    }
    SessionParameters s = negotiator.sessionParameters();
    return new NegotiatedParameters(c.headerDigest(), c.dataDigest(), c.initiatorMaxRecvDataSegmentLength(),
        c.targetMaxRecvDataSegmentLength(), s.immediateData(), s.initialR2T(), s.firstBurstLength(),
        s.maxBurstLength(), s.maxOutstandingR2T(), s.errorRecoveryLevel(), fromTarget, s.maxConnections(),
        s.defaultTime2Wait(), s.defaultTime2Retain(), s.dataPduInOrder(), c.rdmaExtensions());
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
