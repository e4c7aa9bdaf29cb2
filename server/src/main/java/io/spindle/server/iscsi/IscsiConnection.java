package io.spindle.server.iscsi;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.spindle.iscsi.datamover.DatamoverConnection;
import io.spindle.iscsi.datamover.DatamoverKeys;
import io.spindle.iscsi.datamover.DatamoverListener;
import io.spindle.iscsi.negotiation.ConnectionParameters;
import io.spindle.iscsi.negotiation.NegotiationException;
import io.spindle.iscsi.negotiation.Reply;
import io.spindle.iscsi.negotiation.SessionParameters;
import io.spindle.iscsi.negotiation.Stage;
import io.spindle.iscsi.negotiation.TargetNegotiator;
import io.spindle.iscsi.pdu.DataInPdu;
import io.spindle.iscsi.pdu.DataOutPdu;
import io.spindle.iscsi.pdu.InitiatorPdu;
import io.spindle.iscsi.pdu.LoginRequestPdu;
import io.spindle.iscsi.pdu.LoginResponsePdu;
import io.spindle.iscsi.pdu.LogoutRequestPdu;
import io.spindle.iscsi.pdu.LogoutResponsePdu;
import io.spindle.iscsi.pdu.NopInPdu;
import io.spindle.iscsi.pdu.NopOutPdu;
import io.spindle.iscsi.pdu.Opcode;
import io.spindle.iscsi.pdu.Pdu;
import io.spindle.iscsi.pdu.R2tPdu;
import io.spindle.iscsi.pdu.RejectPdu;
import io.spindle.iscsi.pdu.ScsiCommandPdu;
import io.spindle.iscsi.pdu.ScsiResponsePdu;
import io.spindle.iscsi.pdu.TargetPdu;
import io.spindle.iscsi.pdu.TaskMgmtRequestPdu;
import io.spindle.iscsi.pdu.TaskMgmtResponsePdu;
import io.spindle.iscsi.pdu.TextRequestPdu;
import io.spindle.iscsi.pdu.TextResponsePdu;
import io.spindle.iscsi.text.TextKeys;
import io.spindle.iscsi.text.TextKeys.Pair;
import io.spindle.scsi.Nexus;
import io.spindle.scsi.ScsiResult;
import io.spindle.scsi.ScsiStatus;
import io.spindle.scsi.TaskAttribute;
import io.spindle.scsi.TaskManagementFunction;
import io.spindle.scsi.TaskManagementResponse;
import io.spindle.server.config.NegotiationOptions;
import io.spindle.server.config.PortalConfig;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One iSCSI connection: the login phase (RFC 7143 §6), then the full feature phase — command
 * ordering, tasks, task management, text, NOP and logout — over a {@link DatamoverConnection}.
 * Everything runs on the connection's context; the session of a single-connection session lives
 * on the same context.
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
  private final String peer;
  private State state = State.LOGIN;
  private int statSn = 1;
  private int nextTtt = 1;
  private IscsiSession session;
  private final Promise<Void> closed = Promise.promise();

  // Login phase
  private TargetNegotiator negotiation;
  private int loginStage = -1;
  private long loginIsid;
  private int loginTsih;
  private int loginCid;
  private int loginCmdSn;
  private ByteBuf loginText;
  private long loginTimer;

  // Text requests in full feature phase (RFC 7143 §11.10)
  private ByteBuf textRequest;
  private ByteBuf textPending;
  private int textPendingTtt;

  // NOP-In pings of an idle initiator (RFC 7143 §11.19)
  private long lastReceived = System.nanoTime();
  private long nopTimer;
  private int pingTtt = RESERVED;
  private long pingSent;

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

  // ---------------------------------------------------------------- Datamover callbacks

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

  @Override
  public void dataCompletionNotify(int itt, int r2tSn) {
    // iSCSI/TCP places Data-Out through controlNotify; datamovers that place data themselves report here.
  }

  @Override
  public void dataAckNotify(int itt, int dataSn) {
    // ErrorRecoveryLevel 0 keeps no Data-In for acknowledgement.
  }

  @Override
  public void connectionTerminateNotify(String reason) {
    if (state == State.CLOSED) return;
    if (state == State.LOGGED_OUT) {
      log.debug("connection closed after logout peer={}", peer);
    } else if (reason.equals("connection closed")) {
      log.info("connection closed by peer={} {}", peer,
          session == null ? "(before login completed)" : session.describe());
    } else {
      log.warn("connection lost peer={} {} reason={}", peer,
          session == null ? "(before login completed)" : session.describe(), reason);
    }
    teardown();
  }

  // ---------------------------------------------------------------- login phase

  private void login(Pdu pdu) {
    if (!(pdu instanceof LoginRequestPdu req)) {
      // RFC 7143 §6.3: only Login Requests before the full feature phase.
      log.warn("{} before login completed from peer={}; answering Login Response 'invalid during login' and closing",
          pdu.opcode() == null ? "unknown opcode 0x" + Integer.toHexString(pdu.rawOpcode()) : pdu.opcode(), peer);
      loginFailed(pdu.itt(), new LoginException(LoginException.INVALID_DURING_LOGIN, "not a Login Request"));
      return;
    }
    try {
      loginStep(req);
    } catch (LoginException e) {
      log.warn("login failed peer={} initiator={} target={} status=0x{} ({}): {}", peer,
          negotiation == null ? null : negotiation.initiatorName(),
          negotiation == null ? null : negotiation.targetName(),
          String.format("%04x", e.status), LoginException.describe(e.status), e.getMessage());
      loginFailed(req.itt(), e);
    } catch (NegotiationException e) {
      log.warn("login failed peer={} initiator={} target={} status=0x{} ({}): {}", peer,
          negotiation.initiatorName(), negotiation.targetName(), String.format("%04x", e.status()),
          LoginException.describe(e.status()), e.getMessage());
      loginFailed(req.itt(), new LoginException(e.status(), e.getMessage()));
    } catch (TextKeys.MalformedTextException e) {
      log.warn("login failed peer={}: malformed text: {}", peer, e.getMessage());
      loginFailed(req.itt(), new LoginException(LoginException.INITIATOR_ERROR, e.getMessage()));
    }
  }

  private void loginStep(LoginRequestPdu req)
      throws LoginException, NegotiationException, TextKeys.MalformedTextException {
    if (negotiation == null) {
      // RFC 7143 §11.12.4: version 0x00 is the only one defined.
      if (req.versionMin() != 0) {
        throw new LoginException(LoginException.UNSUPPORTED_VERSION, "Version-min " + req.versionMin());
      }
      negotiation = new TargetNegotiator(service.operationalOptions(), portalGroupTag());
      loginStage = req.csg();
      loginIsid = req.isid();
      loginTsih = req.tsih();
      loginCid = req.cid();
      loginCmdSn = req.cmdSn();
    }
    if (req.csg() != loginStage || req.csg() == 2 || req.isid() != loginIsid || req.tsih() != loginTsih) {
      throw new LoginException(LoginException.INITIATOR_ERROR, "Login Request with CSG " + req.csg() + ", ISID 0x"
          + Long.toHexString(req.isid()) + ", TSIH " + req.tsih() + " does not continue the login in stage "
          + loginStage);
    }
    // Text may continue across PDUs with the C bit (RFC 7143 §6.1, §11.12.2).
    if (loginText == null) loginText = Unpooled.buffer();
    if (loginText.readableBytes() + req.data().readableBytes() > MAX_TEXT_BYTES) {
      throw new LoginException(LoginException.INITIATOR_ERROR, "login text longer than " + MAX_TEXT_BYTES + " bytes");
    }
    loginText.writeBytes(req.data(), req.data().readerIndex(), req.data().readableBytes());
    if (req.continueBit()) {
      sendLoginResponse(req, false, loginStage, 0, List.of(), 0);
      return;
    }
    List<Pair> offers = TextKeys.parse(loginText);
    loginText.release();
    loginText = null;
    Reply reply = negotiation.login(Stage.of(loginStage), offers);
    checkIdentity(req);
    List<Pair> answers = reply.pairs();
    // RFC 7143 §6.3: stages only move forward: 0 → 1 or 3, 1 → 3; the target grants the T bit
    // only once none of its own offers waits for an answer.
    boolean transit = req.transit() && negotiation.canTransit();
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

  /** The declarations the first PDU must carry (RFC 7143 §6.3.1). */
  private void checkIdentity(LoginRequestPdu req) throws LoginException {
    // InitiatorName, SessionType and TargetName presence are checked by the negotiator (RFC 7143 §6.3.1).
    if (!negotiation.discovery()) {
      String target = negotiation.targetName();
      if (target == null) throw new LoginException(LoginException.MISSING_PARAMETER, "no TargetName on a normal session");
      if (service.target(target) == null) {
        throw new LoginException(LoginException.TARGET_NOT_FOUND, "no target named " + target);
      }
    }
    if (loginTsih != 0) {
      // Adding a connection to a session (RFC 7143 §6.3.4): MaxConnections is 1 in this version.
      IscsiSession existing = service.session(loginTsih);
      if (existing == null) {
        throw new LoginException(LoginException.SESSION_DOES_NOT_EXIST, "TSIH " + loginTsih + " is not a session");
      }
      throw new LoginException(LoginException.TOO_MANY_CONNECTIONS,
          "session TSIH " + loginTsih + " already has its one connection (MaxConnections=1)");
    }
  }

  /** Final Login Response: the session exists from here on (RFC 7143 §6.3.6). */
  private void completeLogin(LoginRequestPdu req, List<Pair> answers) throws LoginException {
    negotiation.loginComplete();
    SessionParameters params = negotiation.sessionParameters();
    ConnectionParameters cparams = negotiation.connectionParameters();
    String initiatorName = negotiation.initiatorName();
    boolean discovery = negotiation.discovery();
    IscsiTarget target = discovery ? null : service.target(negotiation.targetName());
    int tsih = service.allocateTsih();
    if (tsih == 0) throw new LoginException(LoginException.OUT_OF_RESOURCES, "no free TSIH");
    int tpgt = portalGroupTag();
    Nexus nexus = discovery ? null : new Nexus(initiatorName,
        initiatorName + ",i,0x" + String.format("%012x", loginIsid), target.name() + ",t,0x"
        + String.format("%04x", tpgt), tpgt);
    session = new IscsiSession(discovery ? IscsiSession.Type.DISCOVERY : IscsiSession.Type.NORMAL, initiatorName,
        loginIsid, tsih, target, tpgt, params, cparams, nexus, service.negotiation.queueDepth(), loginCmdSn);
    session.connection = this;
    IscsiSession old = service.register(session);
    if (old != null) {
      // Session reinstatement (RFC 7143 §6.3.5): the old session with this ISID ends now.
      log.info("session reinstatement peer={} {} replaces tsih={}", peer, session.describe(), old.tsih);
      IscsiConnection oc = old.connection;
      if (oc != null) oc.context.runOnContext(v -> oc.close());
    }
    state = State.FULL_FEATURE;
    service.vertx.cancelTimer(loginTimer);
    sendLoginResponse(req, true, loginStage, 3, answers, tsih);
    // Digests and the receive limit apply from the first PDU after the final Login Response.
    dm.noticeKeyValues(new DatamoverKeys(cparams.headerDigest(), cparams.dataDigest(),
        cparams.targetMaxRecvDataSegmentLength(), cparams.initiatorMaxRecvDataSegmentLength()));
    dm.enableDatamover();
    log.info("login ok peer={} {} cid={} {} {}", peer, session.describe(), loginCid, params, cparams);
    service.observer().loginSucceeded(peer, initiatorName, discovery ? null : target.name(), discovery);
    service.observer().sessionOpened(discovery ? null : target.name(), discovery);
    startNopTimer();
  }

  private int portalGroupTag() {
    int local = dm.localAddress().port();
    for (PortalConfig p : service.portals()) {
      if (p.address().port() == local) return p.portalGroupTag();
    }
    return PortalConfig.DEFAULT_PORTAL_GROUP_TAG;
  }

  private void sendLoginResponse(LoginRequestPdu req, boolean transit, int csg, int nsg, List<Pair> keys, int tsih) {
    LoginResponsePdu r = new LoginResponsePdu();
    r.transit(transit).stages(csg, nsg).versions(0, 0).isid(loginIsid).tsih(tsih).itt(req.itt());
    if (session != null) {
      stamp(r, true); // the final response opens the command window
    } else {
      r.statSn(statSn++).expCmdSn(loginCmdSn).maxCmdSn(loginCmdSn);
    }
    if (!keys.isEmpty()) r.data(TextKeys.encode(keys));
    dm.sendControl(r);
  }

  private void loginFailed(int itt, LoginException e) {
    service.observer().loginFailed(peer, negotiation == null ? null : negotiation.initiatorName(),
        negotiation == null ? null : negotiation.targetName(), e.status);
    LoginResponsePdu r = new LoginResponsePdu();
    r.versions(0, 0).isid(loginIsid).tsih(0).itt(itt);
    r.statSn(statSn++).expCmdSn(loginCmdSn).maxCmdSn(loginCmdSn);
    r.status(e.status >> 8, e.status & 0xff);
    state = State.LOGGED_OUT;
    dm.sendControl(r).onComplete(x -> close());
  }

  // ---------------------------------------------------------------- full feature phase

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
    if (pdu.dataDigestError()) {
      // RFC 7143 §7.8: discard the PDU and answer Reject; at ERL 0 the task cannot get its data.
      reject(pdu, RejectPdu.DATA_DIGEST_ERROR, "data digest error");
      IscsiTask t = session.tasks.get(pdu.itt());
      if (t != null) t.failDataOut("a Data-Out PDU had a data digest error");
      return;
    }
    if (op == Opcode.DATA_OUT) {
      dataOut((DataOutPdu) pdu);
      return;
    }
    if (op == Opcode.SNACK_REQUEST) {
      // RFC 7143 §11.16: SNACK needs ErrorRecoveryLevel > 0.
      reject(pdu, RejectPdu.PROTOCOL_ERROR, "SNACK at ErrorRecoveryLevel 0");
      return;
    }
    if (state == State.LOGGED_OUT) {
      log.debug("{} after logout from peer={} ignored", op, peer);
      return;
    }
    InitiatorPdu req = (InitiatorPdu) pdu;
    if (session.type == IscsiSession.Type.DISCOVERY && op != Opcode.TEXT_REQUEST && op != Opcode.LOGOUT_REQUEST
        && op != Opcode.NOP_OUT) {
      // RFC 7143 §4.3: a discovery session carries only Text and Logout (and NOP).
      reject(pdu, RejectPdu.PROTOCOL_ERROR, op + " on a discovery session");
      return;
    }
    if (op == Opcode.NOP_OUT && req.itt() == RESERVED) {
      // A NOP-Out answering our ping: immediate, carries no CmdSN to consume (RFC 7143 §11.18).
      if (req.ttt() == pingTtt) pingTtt = RESERVED;
      return;
    }
    if (req.immediate()) {
      dispatch(req);
      return;
    }
    int sn = req.cmdSn();
    if (sn == session.expCmdSn) {
      session.expCmdSn++;
      dispatch(req);
      drainWaiting();
    } else if (SerialNumbers.inWindow(sn, session.expCmdSn + 1, session.maxCmdSn())) {
      InitiatorPdu old = session.waiting.put(sn, (InitiatorPdu) req.retain());
      if (old != null) old.release(); // a duplicate of a waiting command: the later copy stands
    } else {
      // RFC 7143 §4.2.2.1: non-immediate commands outside the window, and duplicates, are silently ignored.
      log.warn("{} with CmdSN {} outside the window [{}, {}] from peer={} ignored", op, sn & 0xffffffffL,
          session.expCmdSn & 0xffffffffL, session.maxCmdSn() & 0xffffffffL, peer);
    }
  }

  private void drainWaiting() {
    while (!session.waiting.isEmpty() && session.waiting.firstKey() == session.expCmdSn) {
      InitiatorPdu next = session.waiting.pollFirstEntry().getValue();
      session.expCmdSn++;
      try {
        dispatch(next);
      } finally {
        next.release();
      }
    }
  }

  private void dispatch(InitiatorPdu req) {
    switch (req.opcode()) {
      case SCSI_COMMAND: scsiCommand((ScsiCommandPdu) req); break;
      case NOP_OUT: nopOut((NopOutPdu) req); break;
      case TASK_MGMT_REQUEST: taskManagement((TaskMgmtRequestPdu) req); break;
      case TEXT_REQUEST: text((TextRequestPdu) req); break;
      case LOGOUT_REQUEST: logout((LogoutRequestPdu) req); break;
      default: reject(req, RejectPdu.PROTOCOL_ERROR, req.opcode() + " cannot be ordered");
    }
  }

  // ---- SCSI commands

  private void scsiCommand(ScsiCommandPdu cmd) {
    if (session.tasks.containsKey(cmd.itt())) {
      reject(cmd, RejectPdu.TASK_IN_PROGRESS, "ITT 0x" + Integer.toHexString(cmd.itt()) + " is already in use");
      return;
    }
    int problem = IscsiTask.validateData(cmd, session.params);
    if (problem != 0) {
      reject(cmd, problem, "immediate data of " + cmd.dataSegmentLength() + " bytes not allowed here");
      return;
    }
    TaskAttribute attr = TaskAttribute.fromIscsi(cmd.taskAttribute());
    if (attr == null || (cmd.read() && cmd.write()) || (cmd.write() && cmd.expectedDataTransferLength() == 0
        && cmd.dataSegmentLength() > 0)) {
      reject(cmd, RejectPdu.INVALID_PDU_FIELD, "ATTR " + cmd.taskAttribute() + ", R " + cmd.read() + ", W "
          + cmd.write() + " (bidirectional commands are not supported)");
      return;
    }
    ByteBuf cdb = cmd.cdb();
    boolean ownsCdb = false;
    if (cmd.totalAhsLength() > 0) {
      ByteBuf ext = extendedCdb(cmd.ahs());
      if (ext == null) {
        reject(cmd, RejectPdu.INVALID_PDU_FIELD, "malformed AHS");
        return;
      }
      if (ext.isReadable()) {
        cdb = Unpooled.wrappedBuffer(cdb.retainedSlice(), ext.retainedSlice());
        ownsCdb = true;
      }
    }
    IscsiTask task = new IscsiTask(this, session, cmd, cdb, ownsCdb, attr);
    session.tasks.put(task.itt, task);
    task.delivered = true;
    session.target.scsi().execute(task).onComplete(ar -> {
      if (ar.succeeded()) {
        task.complete(ar.result());
      } else {
        log.error("SCSI engine failed {} from peer={}", task, peer, ar.cause());
        task.complete(new ScsiResult(ScsiStatus.CHECK_CONDITION, hardwareErrorSense(), null, 0, false));
      }
    });
  }

  /** The Extended CDB AHS (type 1, RFC 7143 §11.2.2.3) continuation bytes; empty if none; null if malformed. */
  private static ByteBuf extendedCdb(ByteBuf ahs) {
    int i = ahs.readerIndex();
    int end = ahs.writerIndex();
    while (i + 3 <= end) {
      int len = ahs.getUnsignedShort(i);
      int type = ahs.getUnsignedByte(i + 2);
      int total = 3 + len;
      if (i + total > end) return null;
      if (type == 1 && len >= 1) return ahs.slice(i + 4, len - 1);
      i += (total + 3) & ~3;
    }
    return Unpooled.EMPTY_BUFFER;
  }

  /** Sense for a command the engine could not carry out: HARDWARE ERROR / INTERNAL TARGET FAILURE (44h/00h). */
  private static ByteBuf hardwareErrorSense() {
    ByteBuf s = Unpooled.buffer(18).writeZero(18);
    s.setByte(0, 0x70).setByte(2, 0x04).setByte(7, 10).setByte(12, 0x44).setByte(13, 0x00);
    return s;
  }

  private void dataOut(DataOutPdu pdu) {
    IscsiTask task = session == null ? null : session.tasks.get(pdu.itt());
    if (task == null) {
      reject(pdu, RejectPdu.INVALID_PDU_FIELD, "Data-Out for unknown ITT 0x" + Integer.toHexString(pdu.itt()));
      return;
    }
    int problem = task.dataOut(pdu);
    if (problem != 0) {
      reject(pdu, problem, "Data-Out offset " + pdu.bufferOffset() + " DataSN " + pdu.dataSn() + " TTT 0x"
          + Integer.toHexString(pdu.ttt()) + " does not fit " + task);
      task.failDataOut("Data-Out sequence error");
    }
  }

  int nextTargetTransferTag() {
    int t = nextTtt++;
    if (nextTtt == RESERVED) nextTtt = 1;
    return t;
  }

  void sendR2t(IscsiTask task, int ttt, int r2tSn, int offset, int length) {
    R2tPdu r = new R2tPdu();
    r.lun(task.lun()).itt(task.itt);
    r.ttt(ttt);
    r.r2tSn(r2tSn).bufferOffset(offset).desiredDataTransferLength(length);
    stamp(r, false);
    service.observer().r2tSent(session.target.name());
    dm.getData(r);
  }

  /** Sends a task's outcome: Data-In (with the status collapsed into the last PDU when allowed), then status. */
  void sendResult(IscsiTask task, ScsiResult result) {
    if (task.finished() || state == State.CLOSED) {
      result.release();
      if (!task.finished()) endTask(task, ScsiStatus.TASK_ABORTED);
      return;
    }
    if (result.aborted()) {
      result.release();
      endTask(task, ScsiStatus.TASK_ABORTED);
      return;
    }
    ByteBuf data = result.dataIn();
    int residual = result.residual();
    boolean good = result.status() == ScsiStatus.GOOD && result.sense() == null;
    SessionParameters p = session.params;
    if (data != null && data.isReadable() && task.hasDataIn()) {
      int length = data.readableBytes();
      int maxSegment = session.connectionParams.initiatorMaxRecvDataSegmentLength();
      int burst = p.maxBurstLength();
      int offset = 0;
      while (offset < length) {
        int n = Math.min(Math.min(maxSegment, length - offset), burst - (offset % burst));
        boolean last = offset + n == length;
        task.dataInBytes += n;
        DataInPdu d = new DataInPdu();
        d.lun(task.lun()).itt(task.itt);
        d.ttt(RESERVED);
        d.dataSn(task.dataSnCount++).bufferOffset(offset);
        d.data(data.retainedSlice(data.readerIndex() + offset, n));
        // RFC 7143 §11.7.1: F ends each sequence (MaxBurstLength) and the last PDU.
        d.finalBit(last || (offset + n) % burst == 0);
        if (last && good) {
          // Phase collapse (RFC 7143 §11.7.4): GOOD status rides on the final Data-In.
          endTask(task, ScsiStatus.GOOD);
          d.status(ScsiStatus.GOOD, residual < 0, residual > 0, Math.abs(residual));
          stamp(d, true);
        } else {
          stamp(d, false);
        }
        dm.putData(d);
        offset += n;
      }
      data.release();
      if (good) {
        releaseSense(result);
        return;
      }
    } else if (data != null) {
      data.release();
    }
    ScsiResponsePdu r = new ScsiResponsePdu();
    r.itt(task.itt);
    r.response(0).status(result.status());
    r.residualFlags(residual < 0, residual > 0).residualCount(Math.abs(residual));
    r.expDataSn(task.dataSnCount);
    ByteBuf sense = result.sense();
    if (sense != null && sense.isReadable()) {
      // RFC 7143 §11.4.7: SenseLength, then the sense data.
      ByteBuf seg = Unpooled.buffer(2 + sense.readableBytes());
      seg.writeShort(sense.readableBytes()).writeBytes(sense, sense.readerIndex(), sense.readableBytes());
      r.data(seg);
    }
    releaseSense(result);
    endTask(task, result.status());
    stamp(r, true);
    dm.sendControl(r);
  }

  private static void releaseSense(ScsiResult r) {
    if (r.sense() != null && r.sense().refCnt() > 0) r.sense().release();
  }

  private void endTask(IscsiTask task, int status) {
    if (session.tasks.remove(task.itt, task)) {
      service.observer().commandCompleted(session.target.name(), task.lunNumber(), task.kind(), status,
          task.bytesMoved(), System.nanoTime() - task.arrived);
    }
    task.finish();
    dm.deallocateTaskResources(task.itt);
  }

  // ---- task management (RFC 7143 §11.5)

  private void taskManagement(TaskMgmtRequestPdu req) {
    int function = req.function();
    TaskManagementFunction f;
    switch (function) {
      case TaskMgmtRequestPdu.ABORT_TASK: f = TaskManagementFunction.ABORT_TASK; break;
      case TaskMgmtRequestPdu.ABORT_TASK_SET: f = TaskManagementFunction.ABORT_TASK_SET; break;
      case TaskMgmtRequestPdu.CLEAR_ACA: f = TaskManagementFunction.CLEAR_ACA; break;
      case TaskMgmtRequestPdu.CLEAR_TASK_SET: f = TaskManagementFunction.CLEAR_TASK_SET; break;
      case TaskMgmtRequestPdu.LOGICAL_UNIT_RESET: f = TaskManagementFunction.LOGICAL_UNIT_RESET; break;
      case TaskMgmtRequestPdu.TARGET_WARM_RESET:
      case TaskMgmtRequestPdu.TARGET_COLD_RESET: f = TaskManagementFunction.TARGET_RESET; break;
      case TaskMgmtRequestPdu.TASK_REASSIGN:
        // RFC 7143 §11.6.1: reassignment needs ErrorRecoveryLevel 2.
        tmfResponse(req, TaskMgmtResponsePdu.REASSIGNMENT_NOT_SUPPORTED);
        return;
      default:
        tmfResponse(req, TaskMgmtResponsePdu.FUNCTION_NOT_SUPPORTED);
        return;
    }
    log.info("task management {} lun=0x{} ref=0x{} peer={} {}", f, Long.toHexString(req.lun()),
        Integer.toHexString(req.referencedTaskTag()), peer, session.describe());
    if (f == TaskManagementFunction.ABORT_TASK) {
      IscsiTask t = session.tasks.get(req.referencedTaskTag());
      if (t == null) {
        // RFC 7143 §11.5.1: a task never received but within the window counts as done.
        boolean unreceived = SerialNumbers.lessOrEqual(session.expCmdSn, req.refCmdSn())
            && SerialNumbers.lessThan(req.refCmdSn(), req.cmdSn());
        tmfResponse(req, unreceived ? TaskMgmtResponsePdu.FUNCTION_COMPLETE : TaskMgmtResponsePdu.TASK_DOES_NOT_EXIST);
        return;
      }
    }
    boolean cold = function == TaskMgmtRequestPdu.TARGET_COLD_RESET;
    req.retain();
    session.target.scsi().taskManagement(session.nexus, f, req.lun(), req.referencedTaskTag() & 0xffffffffL)
        .onComplete(ar -> {
          try {
            int response = ar.succeeded() ? tmfCode(ar.result()) : TaskMgmtResponsePdu.FUNCTION_REJECTED;
            service.observer().taskManagement(session.target.name(), f.name(), response);
            Future<Void> sent = tmfResponse(req, response);
            if (cold) {
              // RFC 7143 §11.5.1: after a cold reset the target drops its connections.
              sent.onComplete(x -> close());
            }
          } finally {
            req.release();
          }
        });
  }

  private static int tmfCode(TaskManagementResponse r) {
    switch (r) {
      case FUNCTION_COMPLETE: case FUNCTION_SUCCEEDED: return TaskMgmtResponsePdu.FUNCTION_COMPLETE;
      case TASK_DOES_NOT_EXIST: return TaskMgmtResponsePdu.TASK_DOES_NOT_EXIST;
      case INCORRECT_LOGICAL_UNIT_NUMBER: return TaskMgmtResponsePdu.LUN_DOES_NOT_EXIST;
      default: return TaskMgmtResponsePdu.FUNCTION_REJECTED;
    }
  }

  private Future<Void> tmfResponse(TaskMgmtRequestPdu req, int response) {
    if (state == State.CLOSED) return Future.succeededFuture();
    TaskMgmtResponsePdu r = new TaskMgmtResponsePdu();
    r.itt(req.itt());
    r.response(response);
    stamp(r, true);
    return dm.sendControl(r);
  }

  // ---- text (RFC 7143 §11.10, SendTargets §12.3 / Appendix C)

  private void text(TextRequestPdu req) {
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
      stamp(r, true);
      dm.sendControl(r);
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
    if (reply.sendTargets() != null) sendTargets(reply.sendTargets(), answers);
    if (textPending != null) textPending.release();
    textPending = TextKeys.encode(answers);
    textPendingTtt = nextTargetTransferTag();
    sendTextChunk(req);
  }

  private void sendTextChunk(TextRequestPdu req) {
    int n = Math.min(textPending.readableBytes(), session.connectionParams.initiatorMaxRecvDataSegmentLength());
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
    stamp(r, true);
    dm.sendControl(r);
  }

  /** SendTargets (RFC 7143 §12.3): All on discovery sessions, the session's own target otherwise. */
  private void sendTargets(String value, List<Pair> out) {
    List<IscsiTarget> list = new ArrayList<>();
    if (value.equals("All") && session.type == IscsiSession.Type.DISCOVERY) {
      list.addAll(new java.util.TreeMap<>(service.targets()).values());
    } else if (value.isEmpty() || value.equals("All")) {
      if (session.target != null) list.add(session.target);
    } else {
      IscsiTarget t = service.target(value);
      if (t != null && (session.target == null || session.target == t)) list.add(t);
    }
    for (IscsiTarget t : list) {
      out.add(new Pair("TargetName", t.name()));
      for (PortalConfig p : service.portals()) {
        String host = p.address().host();
        if (host.equals("0.0.0.0") || host.equals("::")) host = dm.localAddress().host();
        String addr = (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + p.address().port();
        out.add(new Pair("TargetAddress", addr + "," + p.portalGroupTag()));
      }
    }
  }

  // ---- NOP (RFC 7143 §11.18, §11.19)

  private void nopOut(NopOutPdu req) {
    NopInPdu r = new NopInPdu();
    r.itt(req.itt()).lun(req.lun());
    r.ttt(RESERVED);
    int n = Math.min(req.data().readableBytes(), session.connectionParams.initiatorMaxRecvDataSegmentLength());
    if (n > 0) r.data(req.data().retainedSlice(req.data().readerIndex(), n));
    stamp(r, true);
    dm.sendControl(r);
  }

  private void startNopTimer() {
    int interval = service.negotiation.nopInIntervalSeconds();
    if (interval == 0) return;
    long intervalNanos = interval * 1_000_000_000L;
    long timeoutNanos = service.negotiation.nopInTimeoutSeconds() * 1_000_000_000L;
    nopTimer = service.vertx.setPeriodic(Math.max(1000, interval * 500L), id -> {
      if (state != State.FULL_FEATURE) return;
      long now = System.nanoTime();
      if (pingTtt != RESERVED) {
        if (now - pingSent > timeoutNanos) {
          log.warn("peer={} {} did not answer NOP-In for {} s; closing the connection", peer, session.describe(),
              service.negotiation.nopInTimeoutSeconds());
          close();
        }
      } else if (now - lastReceived > intervalNanos) {
        pingTtt = nextTargetTransferTag();
        pingSent = now;
        NopInPdu ping = new NopInPdu();
        ping.itt(RESERVED);
        ping.ttt(pingTtt);
        stamp(ping, false);
        dm.sendControl(ping);
      }
    });
  }

  // ---- logout (RFC 7143 §11.14)

  private void logout(LogoutRequestPdu req) {
    int response;
    switch (req.reasonCode()) {
      case LogoutRequestPdu.CLOSE_SESSION:
        response = LogoutResponsePdu.CLOSED;
        break;
      case LogoutRequestPdu.CLOSE_CONNECTION:
        response = req.cid() == loginCid ? LogoutResponsePdu.CLOSED : LogoutResponsePdu.CID_NOT_FOUND;
        break;
      case LogoutRequestPdu.REMOVE_FOR_RECOVERY:
        response = LogoutResponsePdu.RECOVERY_NOT_SUPPORTED;
        break;
      default:
        reject(req, RejectPdu.INVALID_PDU_FIELD, "logout reason " + req.reasonCode());
        return;
    }
    LogoutResponsePdu r = new LogoutResponsePdu();
    r.itt(req.itt());
    r.response(response).times(0, 0);
    if (response == LogoutResponsePdu.CLOSED) {
      state = State.LOGGED_OUT;
      log.info("logout peer={} {}", peer, session.describe());
    }
    stamp(r, true);
    Future<Void> sent = dm.sendControl(r);
    if (response == LogoutResponsePdu.CLOSED) sent.onComplete(x -> close());
  }

  // ---- shared

  /** Fills StatSN, ExpCmdSN and MaxCmdSN; a status-carrying PDU takes a new StatSN (RFC 7143 §4.2.2.2). */
  private void stamp(TargetPdu pdu, boolean status) {
    pdu.statSn(status ? statSn++ : statSn);
    pdu.expCmdSn(session.expCmdSn).maxCmdSn(session.maxCmdSn());
  }

  /** Reject (RFC 7143 §11.17): the rejected PDU's header goes back as data. The connection lives on. */
  private void reject(Pdu bad, int reason, String why) {
    log.warn("reject peer={} reason=0x{} {}: {}", peer, Integer.toHexString(reason), bad, why);
    service.observer().pduRejected(peer, reason);
    if (reason == RejectPdu.DATA_DIGEST_ERROR) service.observer().digestError(peer, false);
    RejectPdu r = new RejectPdu();
    r.reason(reason);
    r.data(bad.bhs().copy(bad.bhs().readerIndex(), Pdu.BHS_LENGTH));
    if (session != null) {
      stamp(r, true);
    } else {
      r.statSn(statSn++).expCmdSn(loginCmdSn).maxCmdSn(loginCmdSn);
    }
    dm.sendControl(r);
  }

  /** Closes the connection; the session ends with it (ErrorRecoveryLevel 0). */
  void close() {
    if (state == State.CLOSED) return;
    dm.terminate();
    teardown();
  }

  /** Clean shutdown: stop taking commands, let in-flight ones finish (bounded), then close. */
  Future<Void> shutdown() {
    context.runOnContext(v -> {
      if (state == State.CLOSED) return;
      if (session == null || session.tasks.isEmpty()) {
        close();
        return;
      }
      state = State.LOGGED_OUT;
      long deadline = System.nanoTime() + 10_000_000_000L;
      service.vertx.setPeriodic(50, id -> {
        if (state == State.CLOSED || session.tasks.isEmpty() || System.nanoTime() > deadline) {
          service.vertx.cancelTimer(id);
          close();
        }
      });
    });
    return closed.future();
  }

  private void teardown() {
    if (state == State.CLOSED) return;
    state = State.CLOSED;
    service.vertx.cancelTimer(loginTimer);
    if (nopTimer != 0) service.vertx.cancelTimer(nopTimer);
    if (loginText != null) loginText.release();
    if (textRequest != null) textRequest.release();
    if (textPending != null) textPending.release();
    loginText = textRequest = textPending = null;
    if (session != null) {
      session.closed = true;
      service.unregister(session);
      for (IscsiTask t : new ArrayList<>(session.tasks.values())) {
        t.failDataOut("connection closed");
        t.finish();
      }
      session.tasks.clear();
      session.waiting.values().forEach(p -> p.release());
      session.waiting.clear();
      if (session.nexus != null) session.target.scsi().nexusLost(session.nexus);
    }
    service.connectionClosed(this);
    service.observer().connectionClosed(dm.transport(), peer);
    if (session != null) service.observer().sessionClosed(session.target == null ? null : session.target.name(),
        session.target == null);
    closed.tryComplete();
  }
}
