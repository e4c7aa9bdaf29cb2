package io.spindle.server.iscsi;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.spindle.iscsi.auth.ChapAuthenticator;
import io.spindle.iscsi.auth.ChapIdentity;
import io.spindle.iscsi.datamover.DatamoverConnection;
import io.spindle.iscsi.datamover.DatamoverKeys;
import io.spindle.iscsi.datamover.DatamoverListener;
import io.spindle.iscsi.negotiation.ConnectionParameters;
import io.spindle.iscsi.negotiation.NegotiationException;
import io.spindle.iscsi.negotiation.OperationalOptions;
import io.spindle.iscsi.negotiation.Reply;
import io.spindle.iscsi.negotiation.SessionParameters;
import io.spindle.iscsi.negotiation.Stage;
import io.spindle.iscsi.negotiation.TargetNegotiator;
import io.spindle.iscsi.pdu.AsyncMessagePdu;
import io.spindle.iscsi.pdu.DataInPdu;
import io.spindle.iscsi.pdu.LoginRequestPdu;
import io.spindle.iscsi.pdu.LoginResponsePdu;
import io.spindle.iscsi.pdu.LogoutResponsePdu;
import io.spindle.iscsi.pdu.NopInPdu;
import io.spindle.iscsi.pdu.NopOutPdu;
import io.spindle.iscsi.pdu.Opcode;
import io.spindle.iscsi.pdu.Pdu;
import io.spindle.iscsi.pdu.R2tPdu;
import io.spindle.iscsi.pdu.RejectPdu;
import io.spindle.iscsi.pdu.ScsiResponsePdu;
import io.spindle.iscsi.pdu.TargetPdu;
import io.spindle.iscsi.pdu.TaskMgmtRequestPdu;
import io.spindle.iscsi.pdu.TaskMgmtResponsePdu;
import io.spindle.iscsi.pdu.TextRequestPdu;
import io.spindle.iscsi.pdu.TextResponsePdu;
import io.spindle.iscsi.text.TextKeys;
import io.spindle.iscsi.text.TextKeys.Pair;
import io.spindle.scsi.Nexus;
import io.spindle.server.config.NegotiationOptions;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.TreeMap;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One iSCSI connection over a {@link DatamoverConnection}: the login phase (RFC 7143 §6), then,
 * in the full feature phase, the connection's own share — StatSN (§4.2.2.2), status kept for
 * SNACK, Text negotiation, NOP, and the sending of what its {@link IscsiSession} decides. Login
 * runs on the connection's context; full-feature-phase PDUs are handed to the session's context,
 * and sends come back to this connection's event loop.
 */
final class IscsiConnection implements DatamoverListener {

  private static final Logger log = LoggerFactory.getLogger("io.spindle.iscsi");
  private static final int RESERVED = IscsiTask.RESERVED_TAG;
  /** Bytes of login or text key=value text accepted across C-bit continuations (RFC 7143 §6.1). */
  static final int MAX_TEXT_BYTES = 65536;

  private enum State { LOGIN, FULL_FEATURE, LOGGED_OUT, CLOSED }

  private final IscsiService service;
  final DatamoverConnection dm;
  final Context context;
  final String peer;
  private volatile State state = State.LOGIN;
  /** The next StatSN; owned by the login phase, then by the session's context. */
  private volatile int statSn = 1;
  private int nextTtt = 1;
  volatile IscsiSession session;
  int cid;
  ConnectionParameters params = ConnectionParameters.DEFAULT;
  private final Promise<Void> closed = Promise.promise();

  // Login phase
  /** The source address whose login slot this connection holds until its login ends (IscsiService). */
  String loginSlot;
  boolean reservedSlot; // one of the share kept for ACL-named initiators (IscsiService.admitReserved)
  /** Login rounds (complete texts) accepted before the login must have ended. */
  static final int MAX_LOGIN_ROUNDS = 32;
  private LoginPolicy policy;
  private LoginPolicy.Admission admission;
  private ChapAuthenticator authenticator;
  private boolean lockedOut;
  private int loginRounds;
  /** The names the first login text declared, for the log of a login refused before negotiation starts. */
  private String claimedInitiator;
  private String claimedTarget;
  private TargetNegotiator negotiation;
  private IscsiSession joining;
  private int loginStage = -1;
  private long loginIsid;
  private int loginTsih;
  private boolean adoptionTried;
  private int loginCmdSn;
  private ByteBuf loginText;
  private long loginTimer;

  // Full feature phase, on the session's context
  private ByteBuf textRequest;
  private ByteBuf textPending;
  private int textPendingTtt;
  /** Status PDUs not yet acknowledged by ExpStatSN, by StatSN (ErrorRecoveryLevel &gt; 0, §6.4). */
  private final TreeMap<Integer, TargetPdu> unacknowledged = new TreeMap<>(SerialNumbers::compare);
  private final Deque<IscsiTask> awaitingAck = new ArrayDeque<>();

  // NOP-In pings of an idle initiator (RFC 7143 §11.19), on this connection's context
  private volatile long lastReceived = System.nanoTime();
  private long nopTimer;
  private int pingTtt = RESERVED;
  private long pingSent;
  private boolean discardedSincePing;

  IscsiConnection(IscsiService service, DatamoverConnection dm) {
    this.service = service;
    this.dm = dm;
    this.context = dm.context();
    this.peer = String.valueOf(dm.remoteAddress());
    dm.listener(this);
    service.observer().connectionOpened(dm.transport(), peer);
    NegotiationOptions n = service.negotiation;
    loginTimer = service.vertx.setTimer(n.loginTimeoutSeconds() * 1000L, id -> {
      if (state == State.LOGIN) {
        log.warn("login timeout peer={} after {} s; closing", peer, n.loginTimeoutSeconds());
        close();
      }
    });
  }

  // ---------------------------------------------------------------- Datamover callbacks (this context)

  @Override
  public void controlNotify(Pdu pdu) {
    lastReceived = System.nanoTime();
    try {
      switch (state) {
        case LOGIN:
          login(pdu);
          break;
        case FULL_FEATURE:
        case LOGGED_OUT:
          fullFeature(pdu);
          break;
        default:
          break;
      }
    } catch (RuntimeException e) {
      log.error("internal error handling {} from peer={}; closing the connection", pdu, peer, e);
      close();
    } finally {
      pdu.release();
    }
  }

  private void fullFeature(Pdu pdu) {
    Opcode op = pdu.opcode();
    if (op == null) {
      reject(pdu, RejectPdu.COMMAND_NOT_SUPPORTED, "unknown opcode 0x" + Integer.toHexString(pdu.rawOpcode()));
      return;
    }
    if (!op.initiator || op == Opcode.LOGIN_REQUEST) {
      reject(pdu, RejectPdu.PROTOCOL_ERROR, op + " is not valid in the full feature phase");
      return;
    }
    if (state == State.LOGGED_OUT && op != Opcode.DATA_OUT) {
      log.debug("{} after logout from peer={} ignored", op, peer);
      return;
    }
    if (op == Opcode.NOP_OUT && pdu.itt() == RESERVED && ((NopOutPdu) pdu).ttt() == pingTtt) {
      pingTtt = RESERVED; // the answer to our ping (RFC 7143 §11.18)
      if (discardedSincePing) ping(System.nanoTime()); // that ping showed an older ExpCmdSN
    }
    IscsiSession s = session;
    if (Vertx.currentContext() == s.context) {
      s.received(this, pdu);
    } else {
      pdu.retain();
      s.context.runOnContext(v -> {
        try {
          s.received(this, pdu);
        } finally {
          pdu.release();
        }
      });
    }
  }

  @Override
  public void dataCompletionNotify(int itt, int r2tSn) {
    // iSCSI/TCP places Data-Out through controlNotify; datamovers that place data themselves report here.
  }

  @Override
  public void dataAckNotify(int itt, int dataSn) {
    // iSER answers the A bit itself (iSCSI/TCP's DataACK SNACKs arrive as PDUs instead).
    IscsiSession s = session;
    if (s != null) s.run(() -> s.dataInAcknowledged(itt, dataSn + 1));
  }

  @Override
  public void pduDiscarded(String reason) {
    // ErrorRecoveryLevel > 0: the datamover skipped a PDU whose header digest failed (RFC 7143 §7.8).
    log.warn("discarded a PDU from peer={}: {}", peer, reason);
    service.observer().digestError(peer, true);
    // NOP-based gap detection (RFC 7143 §6.2.1): a ping now shows the initiator our ExpCmdSN,
    // so a discarded command is retried without waiting for a timeout.
    // One ping is out at a time; a discard meanwhile is pinged for when its answer arrives.
    if (state != State.FULL_FEATURE) return;
    if (pingTtt == RESERVED) ping(System.nanoTime());
    else discardedSincePing = true;
  }

  @Override
  public void connectionTerminateNotify(String reason) {
    if (state == State.CLOSED) return;
    boolean loggedOut = state == State.LOGGED_OUT;
    if (loggedOut) {
      log.debug("connection closed after logout peer={}", peer);
    } else if (reason.equals("connection closed")) {
      log.info("connection closed by peer={} {}", peer, session == null ? "(before login completed)" : session.describe());
    } else {
      log.warn("connection lost peer={} {} reason={}", peer,
          session == null ? "(before login completed)" : session.describe(), reason);
    }
    state = State.CLOSED;
    service.vertx.cancelTimer(loginTimer);
    if (nopTimer != 0) service.vertx.cancelTimer(nopTimer);
    if (loginText != null) loginText.release();
    loginText = null;
    service.connectionClosed(this);
    service.observer().connectionClosed(dm.transport(), peer);
    IscsiSession s = session;
    if (s != null) {
      s.run(() -> {
        releaseRetained();
        s.connectionClosed(this, loggedOut);
      });
    }
    closed.tryComplete();
  }

  // ---------------------------------------------------------------- login phase (this context)

  private void login(Pdu pdu) {
    if (!(pdu instanceof LoginRequestPdu req)) {
      // RFC 7143 §6.3: only Login Requests before the full feature phase.
      log.warn("{} before login completed from peer={}; answering Login Response 'invalid during login' and closing",
          pdu.opcode() == null ? "unknown opcode 0x" + Integer.toHexString(pdu.rawOpcode()) : pdu.opcode(), peer);
      loginFailed(pdu.itt(), new LoginException(LoginException.INVALID_DURING_LOGIN, "not a Login Request"));
      return;
    }
    if (policy == null && !adoptionTried && (adoptionTried = SessionReplicator.lookUp(service, req, context, () -> {
      if (state == State.LOGIN) login(req); // a session this node does not hold may live in the cluster
    }))) return;
    try {
      loginStep(req);
    } catch (LoginException e) {
      loginFailed(req.itt(), e);
    } catch (NegotiationException e) {
      loginFailed(req.itt(), new LoginException(e.status(), e.getMessage()));
    } catch (TextKeys.MalformedTextException e) {
      loginFailed(req.itt(), new LoginException(LoginException.INITIATOR_ERROR, "malformed text: " + e.getMessage()));
    }
  }

  private void loginStep(LoginRequestPdu req)
      throws LoginException, NegotiationException, TextKeys.MalformedTextException {
    if (policy == null) {
      // RFC 7143 §11.12.4: version 0x00 is the only one defined.
      if (req.versionMin() != 0) {
        throw new LoginException(LoginException.UNSUPPORTED_VERSION, "Version-min " + req.versionMin());
      }
      policy = service.loginPolicy();
      loginStage = req.csg();
      loginIsid = req.isid();
      loginTsih = req.tsih();
      cid = req.cid();
      loginCmdSn = req.cmdSn();
    }
    if (req.csg() != loginStage || req.csg() == 2 || req.isid() != loginIsid || req.tsih() != loginTsih) {
      throw new LoginException(LoginException.INITIATOR_ERROR, "Login Request with CSG " + req.csg() + ", ISID 0x"
          + Long.toHexString(req.isid()) + ", TSIH " + req.tsih() + " does not continue the login in stage "
          + loginStage);
    }
    // Text may continue across PDUs with the C bit (RFC 7143 §6.1, §11.12.2); its size is bounded
    // before it is kept (login.maxTextBytes), the number of keys by the negotiator (login.maxTextKeys).
    int maxText = Math.min(MAX_TEXT_BYTES, policy.limits().maxTextBytes());
    int held = loginText == null ? 0 : loginText.readableBytes();
    if (held + req.data().readableBytes() > maxText) {
      throw new LoginException(LoginException.INITIATOR_ERROR, "login text longer than " + maxText + " bytes");
    }
    if (loginText == null) loginText = Unpooled.buffer(Math.max(256, req.data().readableBytes()));
    loginText.writeBytes(req.data(), req.data().readerIndex(), req.data().readableBytes());
    if (req.continueBit()) {
      sendLoginResponse(req, false, loginStage, 0, List.of(), 0);
      return;
    }
    if (++loginRounds > MAX_LOGIN_ROUNDS) {
      throw new LoginException(LoginException.INITIATOR_ERROR, "no end of login after " + MAX_LOGIN_ROUNDS + " rounds");
    }
    List<Pair> offers = TextKeys.parse(loginText);
    loginText.release();
    loginText = null;
    if (negotiation == null) admit(offers);
    Reply reply = negotiation.login(Stage.of(loginStage), offers);
    checkIdentity();
    List<Pair> answers = new ArrayList<>(reply.pairs());
    boolean authenticated = authenticate(req, offers, reply, answers);
    // RFC 7143 §6.3: stages only move forward: 0 → 1 or 3, 1 → 3; the target grants the T bit
    // only once none of its own offers waits for an answer, and (§12.1) out of the security
    // stage only once the initiator is authenticated.
    boolean transit = req.transit() && negotiation.canTransit() && authenticated;
    int nsg = req.nsg();
    if (req.transit() && (nsg == 2 || nsg <= loginStage)) {
      throw new LoginException(LoginException.INITIATOR_ERROR, "transit from stage " + loginStage + " to " + nsg);
    }
    if (transit && loginStage == 0 && nsg == 3 && negotiation.needsOperationalStage()) {
      nsg = 1; // the target still has operational keys to declare (RFC 7143 §6.3)
    }
    if (transit && nsg == 3) {
      completeLogin(req, answers);
      return;
    }
    sendLoginResponse(req, transit, loginStage, transit ? nsg : 0, answers, 0);
    if (transit) loginStage = nsg;
  }

  /**
   * Decides, from the declarations of the first complete login text, whether this initiator may
   * log in to what it names and how it must authenticate, then starts the negotiation offering
   * that AuthMethod only. A missing InitiatorName or TargetName is left to the negotiator, which
   * answers it with "missing parameter" (RFC 7143 §11.13.5, 0x0207).
   */
  private void admit(List<Pair> offers) throws LoginException {
    String initiator = first(offers, "InitiatorName");
    String targetName = first(offers, "TargetName");
    claimedInitiator = initiator;
    claimedTarget = targetName;
    boolean discovery = "Discovery".equals(first(offers, "SessionType"));
    SessionParameters existing = null;
    if (loginTsih != 0) {
      // A connection for an existing session (RFC 7143 §6.3.4): it must be there, and be ours.
      joining = service.session(loginTsih);
      if (joining == null || joining.isid != loginIsid || joining.type != IscsiSession.Type.NORMAL) {
        throw new LoginException(LoginException.SESSION_DOES_NOT_EXIST, "TSIH " + loginTsih + " with ISID 0x"
            + Long.toHexString(loginIsid) + " is not a session");
      }
      existing = joining.params;
    }
    if (initiator != null && discovery) {
      admission = policy.discovery();
    } else if (initiator != null && targetName != null) {
      IscsiTarget target = service.target(targetName);
      // RFC 7143 §11.13.5: 0x0203, nothing else: the answer gives no hint of other targets.
      if (target == null) throw new LoginException(LoginException.TARGET_NOT_FOUND, "no target named " + targetName);
      admission = policy.admit(target, initiator);
      if (admission == null) {
        throw new LoginException(LoginException.AUTHORIZATION_FAILURE, "initiator " + initiator
            + " is not in the ACL of " + targetName);
      }
    }
    ChapIdentity chap = admission == null ? null : admission.chap();
    // Issue 21: a locked-out address is refused unchecked, so guessing gains nothing; not counted again.
    lockedOut = chap != null && service.throttle().lockedOutMillis(dm.remoteAddress().host()) > 0;
    if (lockedOut) throw new LoginException(LoginException.AUTHENTICATION_FAILURE, "address locked out");
    OperationalOptions options = service.operationalOptions(dm.transport()).authMethods(chap != null ? "CHAP" : "None");
    if (chap != null) {
      // The initiator must prove the one CHAP name its ACL entry (or the discovery section) gives.
      authenticator = new ChapAuthenticator(admission.algorithms(),
          user -> user.equals(chap.name()) ? chap.secret() : null, admission.mutual(), service.random);
    }
    negotiation = new TargetNegotiator(options, service.portalGroupTag(dm.localAddress().port()), existing, policy.limits().negotiationLimits());
  }

  private static String first(List<Pair> pairs, String key) {
    for (Pair p : pairs) {
      if (p.key().equals(key)) return p.value();
    }
    return null;
  }

  /**
   * Runs the CHAP exchange of the security stage (RFC 7143 §12.1.3) and appends the target's keys.
   *
   * @return true once the initiator may leave the security stage: authenticated, or no authentication required
   */
  private boolean authenticate(LoginRequestPdu req, List<Pair> offers, Reply reply, List<Pair> answers)
      throws LoginException, NegotiationException {
    if (authenticator == null) {
      if (!reply.authenticationKeys().isEmpty()) {
        throw new LoginException(LoginException.INITIATOR_ERROR, reply.authenticationKeys().get(0).key()
            + " without AuthMethod=CHAP");
      }
      return true;
    }
    if (loginStage != 0) {
      // RFC 7143 §6.3: a target that requires authentication refuses a login starting in the operational stage.
      if (!authenticator.succeeded()) {
        throw new LoginException(LoginException.AUTHENTICATION_FAILURE, "operational stage without authentication");
      }
      return true;
    }
    if (!"CHAP".equals(negotiation.authMethod())) {
      if (first(offers, "AuthMethod") != null) {
        throw new LoginException(LoginException.AUTHENTICATION_FAILURE, "AuthMethod " + first(offers, "AuthMethod")
            + " offered; this target requires CHAP");
      }
      if (req.transit() || !reply.authenticationKeys().isEmpty()) {
        throw new LoginException(LoginException.AUTHENTICATION_FAILURE, "no AuthMethod=CHAP negotiated");
      }
      return false;
    }
    ChapAuthenticator.Step step = authenticator.step(reply.authenticationKeys());
    answers.addAll(step.keys());
    if (step.complete()) {
      service.throttle().succeeded(dm.remoteAddress().host(), negotiation.initiatorName());
      log.info("CHAP ok peer={} initiator={} user={} algorithm={}{}", peer, negotiation.initiatorName(),
          authenticator.user(), authenticator.algorithm(), authenticator.mutual() ? " mutual" : "");
    }
    return step.complete();
  }

  /** The declarations checked by the iSCSI layer (RFC 7143 §6.3.1); the negotiator checks presence. */
  private void checkIdentity() throws LoginException {
    if (negotiation.discovery()) return;
    String target = negotiation.targetName();
    if (service.target(target) == null) throw new LoginException(LoginException.TARGET_NOT_FOUND, "no target named " + target);
    if (joining != null && (!joining.initiatorName.equals(negotiation.initiatorName())
        || !joining.target.name().equals(target))) {
      throw new LoginException(LoginException.SESSION_DOES_NOT_EXIST, "TSIH " + loginTsih
          + " belongs to another initiator or target");
    }
  }

  /** Final Login Response (RFC 7143 §6.3.6): a new session, or this connection added to one. */
  private void completeLogin(LoginRequestPdu req, List<Pair> answers) throws LoginException {
    negotiation.loginComplete();
    params = negotiation.connectionParameters();
    if (joining != null) {
      IscsiSession s = joining;
      req.retain();
      s.run(() -> (s.replica == null ? Future.succeededFuture(true) : s.replica.own()).onComplete(owned -> {
        // A session found in the cluster becomes this node's first (SessionReplicator.own).
        int status = owned.succeeded() && owned.result() ? s.attach(this) : LoginException.SESSION_DOES_NOT_EXIST;
        context.runOnContext(v -> {
          try {
            if (status != 0) {
              loginFailed(req.itt(), new LoginException(status, "cannot join " + s.describe()));
            } else {
              enterFullFeature(req, answers, s);
            }
          } finally {
            req.release();
          }
        });
      }));
      return;
    }
    SessionParameters sp = negotiation.sessionParameters();
    String initiatorName = negotiation.initiatorName();
    boolean discovery = negotiation.discovery();
    // The session addresses the initiator's own LUN view when its ACL entry maps LUNs.
    IscsiTarget target = discovery ? null : admission.target();
    int tpgt = service.portalGroupTag(dm.localAddress().port());
    Nexus nexus = discovery ? null : IscsiSession.nexus(initiatorName, loginIsid, target.name(), tpgt);
    IntFunction<IscsiSession> session = tsih -> new IscsiSession(service, context,
        discovery ? IscsiSession.Type.DISCOVERY : IscsiSession.Type.NORMAL, initiatorName, loginIsid, tsih, target,
        tpgt, sp, nexus, service.negotiation.queueDepth(), loginCmdSn);
    req.retain();
    service.newSession(session, sp).onComplete(ar -> {
      try {
        if (ar.failed()) loginFailed(req.itt(), new LoginException(LoginException.OUT_OF_RESOURCES, ar.cause().getMessage()));
        else if (state == State.LOGIN) newSession(req, answers, ar.result());
      } finally {
        req.release();
      }
    });
  }

  private void newSession(LoginRequestPdu req, List<Pair> answers, IscsiSession s) {
    boolean discovery = s.type == IscsiSession.Type.DISCOVERY;
    s.attach(this);
    IscsiSession old = service.register(s);
    s.startRecoveryTimers();
    service.observer().sessionOpened(discovery ? null : s.target.name(), discovery);
    if (old == null) {
      enterFullFeature(req, answers, s);
      return;
    }
    // Session reinstatement (RFC 7143 §6.3.5): the old session ends — its tasks, and the I_T
    // nexus it shares with the new one — before the final Login Response lets the new one work.
    log.info("session reinstatement peer={} {} replaces tsih={}", peer, s.describe(), old.tsih);
    req.retain();
    old.run(() -> {
      old.end("reinstated by a new login");
      context.runOnContext(v -> {
        try {
          enterFullFeature(req, answers, s);
        } finally {
          req.release();
        }
      });
    });
  }

  private void enterFullFeature(LoginRequestPdu req, List<Pair> answers, IscsiSession s) {
    if (state != State.LOGIN) return; // closed meanwhile
    session = s;
    state = State.FULL_FEATURE;
    service.vertx.cancelTimer(loginTimer);
    service.loginEnded(this);
    sendLoginResponse(req, true, loginStage, 3, answers, s.tsih);
    // Digests and the receive limit apply from the first PDU after the final Login Response.
    // RDMAExtensions tells an iSER datamover that logged in over the byte stream (RFC 5046 §5) to
    // move to RDMA mode now.
    dm.noticeKeyValues(new DatamoverKeys(params.headerDigest(), params.dataDigest(),
        params.targetMaxRecvDataSegmentLength(), params.initiatorMaxRecvDataSegmentLength(),
        s.params.errorRecoveryLevel(), params.rdmaExtensions()));
    dm.outboundLimit(OutboundSizing.limit(s.params, params, service.negotiation));
    dm.enableDatamover();
    log.info("login ok peer={} {} cid={} {} {}", peer, s.describe(), cid, s.params, params);
    service.observer().loginSucceeded(peer, s.initiatorName, s.target == null ? null : s.target.name(),
        s.type == IscsiSession.Type.DISCOVERY);
    startNopTimer();
  }

  private void sendLoginResponse(LoginRequestPdu req, boolean transit, int csg, int nsg, List<Pair> keys, int tsih) {
    LoginResponsePdu r = new LoginResponsePdu();
    r.transit(transit).stages(csg, nsg).versions(0, 0).isid(loginIsid).tsih(tsih).itt(req.itt());
    if (session != null) {
      // The final response opens the command window (RFC 7143 §11.13.4).
      r.statSn(statSn++).expCmdSn(session.expCmdSn).maxCmdSn(session.maxCmdSn());
    } else {
      r.statSn(statSn++).expCmdSn(loginCmdSn).maxCmdSn(loginCmdSn);
    }
    if (!keys.isEmpty()) r.data(TextKeys.encode(keys));
    dm.sendControl(r);
  }

  private void loginFailed(int itt, LoginException e) {
    String initiator = LogText.printable(negotiation == null ? claimedInitiator : negotiation.initiatorName());
    String target = LogText.printable(negotiation == null ? claimedTarget : negotiation.targetName());
    log.atLevel(lockedOut ? org.slf4j.event.Level.DEBUG : org.slf4j.event.Level.WARN)
        .log("login failed peer={} initiator={} target={} status=0x{} ({}): {}", peer, initiator, target,
        String.format("%04x", e.status), LoginException.describe(e.status), e.getMessage());
    service.observer().loginFailed(peer, initiator, target, e.status);
    LoginResponsePdu r = new LoginResponsePdu();
    r.versions(0, 0).isid(loginIsid).tsih(0).itt(itt);
    r.statSn(statSn++).expCmdSn(loginCmdSn).maxCmdSn(loginCmdSn);
    r.status(e.status >> 8, e.status & 0xff);
    state = State.LOGGED_OUT;
    // Issue 21: a failed CHAP answer waits (LoginThrottle), the same for unknown users and wrong responses.
    long delay = authenticator == null || e.status != LoginException.AUTHENTICATION_FAILURE || lockedOut ? 0
        : service.throttle().failed(dm.remoteAddress().host(), initiator, peer);
    if (delay > 0) {
      service.vertx.setTimer(delay, id -> dm.sendControl(r).onComplete(x -> close()));
      return;
    }
    dm.sendControl(r).onComplete(x -> close());
  }

  // ---------------------------------------------------------------- sending (session context → this context)

  /** Runs {@code action} on this connection's context. */
  private void onContext(Runnable action) {
    if (Vertx.currentContext() == context) {
      action.run();
    } else {
      context.runOnContext(v -> action.run());
    }
  }

  /** Fills StatSN, ExpCmdSN and MaxCmdSN; a status-carrying PDU takes a new StatSN (RFC 7143 §4.2.2.2). */
  private void stamp(TargetPdu pdu, boolean status) {
    pdu.statSn(status ? statSn++ : statSn);
    pdu.expCmdSn(session.expCmdSn).maxCmdSn(session.maxCmdSn());
  }

  /** Sends a status-carrying control PDU; kept for Status SNACK at ErrorRecoveryLevel &gt; 0. */
  private Future<Void> sendWithStatus(TargetPdu pdu) {
    stamp(pdu, true);
    if (session.erl() > 0) unacknowledged.put(pdu.statSn(), (TargetPdu) pdu.retain());
    return send(pdu);
  }

  private Future<Void> send(TargetPdu pdu) {
    if (Vertx.currentContext() == context) return dm.sendControl(pdu);
    Promise<Void> p = Promise.promise();
    context.runOnContext(v -> dm.sendControl(pdu).onComplete(p));
    return p.future();
  }

  /** Sends a PDU whose outcome nobody waits for (no Future is made). */
  private void post(TargetPdu pdu) {
    if (Vertx.currentContext() == context) {
      dm.post(pdu);
    } else {
      context.runOnContext(v -> dm.post(pdu));
    }
  }

  void sendR2t(R2tPdu r) {
    stamp(r, false);
    post(r);
  }

  /** Sends Data-In; with {@code statusOf}, the PDU carries that task's status (phase collapse). */
  void sendDataIn(DataInPdu d, IscsiTask statusOf) {
    boolean withStatus = statusOf != null;
    if (withStatus) statusOf.statSn = statSn; // the StatSN stamp() is about to use
    stamp(d, withStatus);
    if (withStatus && session.erl() > 0) unacknowledged.put(d.statSn(), (TargetPdu) d.retain());
    post(d);
  }

  /** Sends the SCSI Response of a task and notes its StatSN. */
  void sendStatus(ScsiResponsePdu r, IscsiTask task) {
    task.statSn = statSn; // the StatSN stamp() is about to use; r is released once sent
    stamp(r, true);
    if (session.erl() > 0) unacknowledged.put(r.statSn(), (TargetPdu) r.retain());
    post(r);
  }

  /** Re-sends a Data-In (Data SNACK): same DataSN, current window. */
  void resendData(DataInPdu d) {
    if (!d.hasStatus()) stamp(d, false);
    d.expCmdSn(session.expCmdSn).maxCmdSn(session.maxCmdSn());
    post(d);
  }

  /** Status SNACK (RFC 7143 §11.16.1): re-sends kept status PDUs with StatSN in [beg, beg + run). */
  boolean resendStatus(int beg, int run) {
    List<TargetPdu> found = new ArrayList<>();
    for (var e : unacknowledged.tailMap(beg, true).entrySet()) {
      if (run != 0 && !SerialNumbers.lessThan(e.getKey(), beg + run)) break;
      found.add(e.getValue());
    }
    if (found.isEmpty()) return false;
    for (TargetPdu p : found) {
      p.retain();
      post(p);
    }
    return true;
  }

  /** ExpStatSN from the initiator: statuses below it were received (RFC 7143 §4.2.2.2). */
  void acknowledge(int expStatSn) {
    while (!unacknowledged.isEmpty() && SerialNumbers.lessThan(unacknowledged.firstKey(), expStatSn)) {
      unacknowledged.pollFirstEntry().getValue().release();
    }
    while (!awaitingAck.isEmpty() && SerialNumbers.lessThan(awaitingAck.peek().statSn, expStatSn)) {
      IscsiTask t = awaitingAck.poll();
      if (t.connection == this && t.state == IscsiTask.State.STATUS_SENT) session.acknowledged(t);
    }
  }

  void awaitAcknowledgement(IscsiTask task) {
    awaitingAck.add(task);
  }

  private void releaseRetained() {
    unacknowledged.values().forEach(p -> p.release());
    unacknowledged.clear();
    awaitingAck.clear();
    if (textRequest != null) textRequest.release();
    if (textPending != null) textPending.release();
    textRequest = textPending = null;
  }

  void deallocateTaskResources(int itt) {
    onContext(() -> dm.deallocateTaskResources(itt));
  }

  int nextTargetTransferTag() {
    int t = nextTtt++;
    if (nextTtt == RESERVED) nextTtt = 1;
    return t;
  }

  Future<Void> tmfResponse(TaskMgmtRequestPdu req, int response) {
    if (state == State.CLOSED) return Future.succeededFuture();
    TaskMgmtResponsePdu r = new TaskMgmtResponsePdu();
    r.itt(req.itt());
    r.response(response);
    return sendWithStatus(r);
  }

  void loggingOut() {
    state = State.LOGGED_OUT;
  }

  Future<Void> sendLogoutResponse(LogoutResponsePdu r) {
    return sendWithStatus(r);
  }

  /** Reject (RFC 7143 §11.17): the rejected PDU's header goes back as data. The connection lives on. */
  void reject(Pdu bad, int reason, String why) {
    log.warn("reject peer={} reason=0x{} {}: {}", peer, Integer.toHexString(reason), bad, why);
    service.observer().pduRejected(peer, reason);
    RejectPdu r = new RejectPdu();
    r.reason(reason);
    r.data(bad.bhs().copy(bad.bhs().readerIndex(), Pdu.BHS_LENGTH));
    if (session != null) {
      if (Vertx.currentContext() != session.context) {
        // Found on this context (bad opcode): the session stamps it.
        session.run(() -> sendWithStatus(r));
        return;
      }
      sendWithStatus(r);
    } else {
      r.statSn(statSn++).expCmdSn(loginCmdSn).maxCmdSn(loginCmdSn);
      dm.sendControl(r);
    }
  }

  // ---------------------------------------------------------------- text (RFC 7143 §11.10), session context

  void text(TextRequestPdu req) {
    if (req.ttt() != RESERVED) {
      // Continuation of a long response the initiator asks us to go on with.
      if (textPending != null && req.ttt() == textPendingTtt) {
        sendTextChunk(req);
      } else {
        reject(req, RejectPdu.INVALID_PDU_FIELD, "Text Request TTT 0x" + Integer.toHexString(req.ttt())
            + " continues nothing");
      }
      return;
    }
    if (textRequest == null) textRequest = Unpooled.buffer();
    if (textRequest.readableBytes() + req.data().readableBytes() > MAX_TEXT_BYTES) {
      textRequest.release();
      textRequest = null;
      reject(req, RejectPdu.PROTOCOL_ERROR, "text request longer than " + MAX_TEXT_BYTES + " bytes");
      return;
    }
    textRequest.writeBytes(req.data(), req.data().readerIndex(), req.data().readableBytes());
    if (req.continueBit()) {
      TextResponsePdu r = new TextResponsePdu();
      r.itt(req.itt()).lun(req.lun());
      r.ttt(nextTargetTransferTag());
      sendWithStatus(r);
      return;
    }
    List<Pair> offers;
    try {
      offers = TextKeys.parse(textRequest);
    } catch (TextKeys.MalformedTextException e) {
      reject(req, RejectPdu.PROTOCOL_ERROR, e.getMessage());
      return;
    } finally {
      textRequest.release();
      textRequest = null;
    }
    Reply reply;
    try {
      reply = negotiation.text(offers);
    } catch (NegotiationException e) {
      reject(req, RejectPdu.PROTOCOL_ERROR, e.getMessage());
      return;
    }
    List<Pair> answers = new ArrayList<>(reply.pairs());
    if (reply.sendTargets() != null) service.sendTargets(session, reply.sendTargets(), answers, dm.localAddress().host());
    if (textPending != null) textPending.release();
    textPending = TextKeys.encode(answers);
    textPendingTtt = nextTargetTransferTag();
    sendTextChunk(req);
  }

  private void sendTextChunk(TextRequestPdu req) {
    int n = Math.min(textPending.readableBytes(), params.initiatorMaxRecvDataSegmentLength());
    boolean last = n == textPending.readableBytes();
    TextResponsePdu r = new TextResponsePdu();
    r.itt(req.itt()).lun(req.lun());
    r.ttt(last ? RESERVED : textPendingTtt);
    r.continueBit(!last).finalBit(last);
    r.data(textPending.readRetainedSlice(n));
    if (last) {
      textPending.release();
      textPending = null;
    }
    sendWithStatus(r);
  }

  // ---------------------------------------------------------------- NOP (RFC 7143 §11.18, §11.19)

  void nopOut(NopOutPdu req) {
    NopInPdu r = new NopInPdu();
    r.itt(req.itt()).lun(req.lun());
    r.ttt(RESERVED);
    int n = Math.min(req.data().readableBytes(), params.initiatorMaxRecvDataSegmentLength());
    // A copy, not a slice: a slice would pin the whole receive buffer it came from (issue 21).
    if (n > 0) r.data(req.data().copy(req.data().readerIndex(), n));
    sendWithStatus(r);
  }

  private void startNopTimer() {
    int interval = service.negotiation.nopInIntervalSeconds();
    if (interval == 0) return;
    long intervalNanos = interval * 1_000_000_000L;
    long timeoutNanos = service.negotiation.nopInTimeoutSeconds() * 1_000_000_000L;
    nopTimer = service.vertx.setPeriodic(Math.max(500, interval * 500L), id -> {
      if (state != State.FULL_FEATURE) return;
      long now = System.nanoTime();
      if (pingTtt != RESERVED) {
        if (now - pingSent > timeoutNanos) {
          log.warn("peer={} {} did not answer NOP-In for {} s; closing the connection", peer, session.describe(),
              service.negotiation.nopInTimeoutSeconds());
          close();
        }
      } else if (now - lastReceived > intervalNanos) {
        ping(now);
      }
    });
  }

  /**
   * Sends a NOP-In ping. It carries the current StatSN without consuming it (RFC 7143 §11.19.3);
   * the initiator learns of lost status or commands from the numbers (NOP-based gap detection).
   */
  private void ping(long now) {
    discardedSincePing = false;
    pingTtt = nextPingTag();
    pingSent = now;
    NopInPdu ping = new NopInPdu();
    ping.itt(RESERVED);
    ping.ttt(pingTtt);
    ping.statSn(statSn).expCmdSn(session.expCmdSn).maxCmdSn(session.announcedMaxCmdSn());
    dm.sendControl(ping);
  }

  /** Ping tags come from the top half of the TTT space, apart from the session-context tags. */
  private int pingCounter;

  private int nextPingTag() {
    pingCounter = (pingCounter + 1) & 0x7fff_ffff;
    return 0x8000_0000 | pingCounter;
  }

  // ---------------------------------------------------------------- closing

  boolean isClosed() {
    return state == State.CLOSED;
  }

  /** Closes the transport connection; the session hears of it through connectionTerminateNotify. */
  void close() {
    onContext(() -> {
      if (state != State.CLOSED) dm.terminate();
    });
  }

  /** Seconds an initiator is given to log out when the target asks it to (Async Message Parameter3). */
  static final int LOGOUT_GRACE_SECONDS = 10;

  /**
   * Clean end of a connection the target wants gone (server stop, removed portal or target, admin
   * logout): the initiator is asked to log out (RFC 7143 §11.9.1, AsyncEvent 1, with
   * {@link #LOGOUT_GRACE_SECONDS} in Parameter3) and may finish its commands; the connection closes
   * when it has logged out, or when the time is up.
   */
  Future<Void> shutdown() {
    context.runOnContext(v -> {
      if (state == State.CLOSED) return;
      IscsiSession s = session;
      if (s == null || state != State.FULL_FEATURE || s.type == IscsiSession.Type.DISCOVERY) {
        close();
        return;
      }
      s.run(() -> {
        AsyncMessagePdu m = new AsyncMessagePdu();
        m.asyncEvent(AsyncMessagePdu.LOGOUT_REQUESTED).parameters(0, 0, LOGOUT_GRACE_SECONDS);
        sendWithStatus(m);
      });
      log.info("asked peer={} {} cid={} to log out within {} s", peer, s.describe(), cid, LOGOUT_GRACE_SECONDS);
      long deadline = System.nanoTime() + LOGOUT_GRACE_SECONDS * 1_000_000_000L;
      service.vertx.setPeriodic(50, id -> {
        if (state == State.CLOSED || System.nanoTime() > deadline) {
          service.vertx.cancelTimer(id);
          if (state != State.CLOSED) log.warn("peer={} did not log out within {} s; closing", peer, LOGOUT_GRACE_SECONDS);
          close();
        }
      });
    });
    return closed.future();
  }
}
