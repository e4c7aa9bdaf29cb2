package io.spindle.initiator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.spindle.iscsi.pdu.DataInPdu;
import io.spindle.iscsi.pdu.RejectPdu;
import io.spindle.iscsi.pdu.ScsiCommandPdu;
import io.spindle.iscsi.pdu.ScsiResponsePdu;
import io.spindle.iscsi.pdu.SnackRequestPdu;
import io.spindle.iscsi.pdu.TaskMgmtRequestPdu;
import io.spindle.iscsi.pdu.TaskMgmtResponsePdu;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The initiator's error recovery (RFC 7143 §7) against a scripted {@link FakeTarget} that loses
 * PDUs and connections on cue: SNACKs for Data-In and status gaps, DataACK, retry of a command
 * rejected for a data digest error, ERL 2 connection reinstatement with TASK REASSIGN, and
 * session recovery at ERL 0.
 */
class ErrorRecoveryTest {

  private static final String TARGET = "iqn.2026-11.io.spindle:fake";
  private Vertx vertx;
  private IscsiInitiator initiator;
  private FakeTarget target;
  private final List<String> snacks = new CopyOnWriteArrayList<>();

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
  }

  @AfterEach
  void tearDown() {
    if (initiator != null) Await.result(initiator.close());
    if (target != null) target.close();
    Await.result(vertx.close());
  }

  private Session login(int erl, boolean sessionRecovery) {
    initiator = IscsiInitiator.create(vertx, new InitiatorOptions().setCommandTimeoutMillis(10_000)
        .setErrorRecoveryLevel(erl).setDefaultTime2Wait(0).setSessionRecovery(sessionRecovery));
    Session s = Await.result(initiator.login("127.0.0.1", target.port(), TARGET));
    assertEquals(erl, s.parameters().errorRecoveryLevel());
    return s;
  }

  private static DataInPdu dataIn(int itt, int dataSn, int offset, int length) {
    DataInPdu d = new DataInPdu();
    d.itt(itt);
    d.ttt(0xffffffff);
    d.dataSn(dataSn).bufferOffset(offset);
    d.data(pattern(offset, length));
    return d;
  }

  /** Byte i of the transfer is (byte) i. */
  private static ByteBuf pattern(int offset, int length) {
    ByteBuf b = Unpooled.buffer(length);
    for (int i = 0; i < length; i++) b.writeByte(offset + i);
    return b;
  }

  private static ScsiResponsePdu good(int itt, int expDataSn) {
    ScsiResponsePdu r = new ScsiResponsePdu();
    r.itt(itt);
    r.expDataSn(expDataSn);
    return r;
  }

  private static void assertPattern(ScsiResponse r, int length) {
    assertTrue(r.isGood(), r.toString());
    assertEquals(length, r.data().readableBytes());
    for (int i = 0; i < length; i++) assertEquals((byte) i, r.data().getByte(i), "byte " + i);
  }

  private String describe(SnackRequestPdu s) {
    return "type=" + s.type() + " itt=" + Integer.toHexString(s.itt()) + " ttt=" + Integer.toHexString(s.ttt())
        + " run=" + s.begRun() + "+" + s.runLength();
  }

  @Test
  void missingDataInIsAskedForAndTheStatusWaitsForIt() {
    int[] itt = new int[1];
    target = FakeTarget.start(vertx, (c, pdu) -> {
      if (pdu instanceof ScsiCommandPdu cmd) {
        itt[0] = cmd.itt();
        c.send(dataIn(cmd.itt(), 0, 0, 512), false);
        // DataSN 1 is "lost"; DataSN 2 and the status (3 Data-In sent) arrive.
        c.send(dataIn(cmd.itt(), 2, 1024, 512), false);
        c.send(good(cmd.itt(), 3), true);
      } else if (pdu instanceof SnackRequestPdu s) {
        snacks.add(describe(s));
        if (s.type() == SnackRequestPdu.DATA_R2T) c.send(dataIn(s.itt(), s.begRun(), 512 * s.begRun(), 512), false);
      }
    });
    Session s = login(1, false);
    try (ScsiResponse r = Await.result(s.read(0, 0, 3, 512))) {
      assertPattern(r, 1536);
    }
    // RFC 7143 §11.16: a Data/R2T SNACK names the task and the missing DataSN run.
    assertEquals(List.of("type=0 itt=" + Integer.toHexString(itt[0]) + " ttt=ffffffff run=1+1"), snacks);
    Await.result(s.logout());
  }

  @Test
  void theAckBitIsAnsweredWithDataAck() {
    target = FakeTarget.start(vertx, (c, pdu) -> {
      if (pdu instanceof ScsiCommandPdu cmd) {
        lastCommandItt[0] = cmd.itt();
        DataInPdu d = dataIn(cmd.itt(), 0, 0, 512);
        d.ackRequested(true);
        d.ttt(0x77);
        c.send(d, false);
      } else if (pdu instanceof SnackRequestPdu s) {
        snacks.add(describe(s));
        ScsiResponsePdu r = good(lastCommandItt[0], 1);
        c.send(r, true);
      }
    });
    Session s = login(1, false);
    try (ScsiResponse r = Await.result(s.read(0, 0, 1, 512))) {
      assertPattern(r, 512);
    }
    // RFC 7143 §11.16: DataACK has the reserved ITT, the Data-In's TTT, and BegRun past what arrived.
    assertEquals(List.of("type=2 itt=ffffffff ttt=77 run=1+0"), snacks);
    Await.result(s.logout());
  }

  private final int[] lastCommandItt = new int[1];

  @Test
  void aStatusGapIsAskedForWithStatusSnack() {
    List<Integer> itts = new CopyOnWriteArrayList<>();
    int[] base = new int[1];
    target = FakeTarget.start(vertx, (c, pdu) -> {
      if (pdu instanceof ScsiCommandPdu cmd) {
        itts.add(cmd.itt());
        if (itts.size() == 1) base[0] = c.statSn;
        if (itts.size() == 2) {
          // The first command's status (StatSN base) is "lost": StatSN base + 1 goes out first.
          c.statSn = base[0] + 1;
          c.send(good(cmd.itt(), 0), true);
        }
      } else if (pdu instanceof SnackRequestPdu s) {
        snacks.add(describe(s));
        c.statSn = s.begRun();
        c.send(good(itts.get(0), 0), true);
        c.statSn = base[0] + 2;
      }
    });
    Session s = login(1, false);
    Future<ScsiResponse> first = s.testUnitReady(0);
    Future<ScsiResponse> second = s.testUnitReady(0);
    Await.result(second).close();
    Await.result(first).close();
    assertEquals(List.of("type=1 itt=ffffffff ttt=ffffffff run=" + base[0] + "+1"), snacks);
    Await.result(s.logout());
  }

  @Test
  void aCommandRejectedForItsDataDigestIsRetriedWithTheSameCmdSn() {
    List<String> commands = new CopyOnWriteArrayList<>();
    target = FakeTarget.start(vertx, (c, pdu) -> {
      if (!(pdu instanceof ScsiCommandPdu cmd)) return;
      commands.add(cmd.itt() + "/" + cmd.cmdSn() + "/" + cmd.data().readableBytes());
      if (commands.size() == 1) {
        RejectPdu r = new RejectPdu();
        r.reason(RejectPdu.DATA_DIGEST_ERROR);
        r.itt(0xffffffff);
        r.data(Unpooled.copiedBuffer(cmd.bhs()));
        c.send(r, true);
        return;
      }
      c.expCmdSn = cmd.cmdSn() + 1;
      c.send(good(cmd.itt(), 0), true);
    });
    Session s = login(1, false);
    try (ScsiResponse r = Await.result(s.write(0, 0, pattern(0, 1024), 512))) {
      assertTrue(r.isGood());
    }
    assertEquals(2, commands.size());
    assertEquals(commands.get(0), commands.get(1), "RFC 7143 §7.2.1: a retry repeats ITT, CmdSN and data");
    assertEquals(1, s.recoveries());
    Await.result(s.logout());
  }

  @Test
  void erl2ReinstatesTheConnectionAndReassignsTheRead() {
    List<String> tmfs = new CopyOnWriteArrayList<>();
    target = FakeTarget.start(vertx, (c, pdu) -> {
      if (pdu instanceof ScsiCommandPdu cmd) {
        c.send(dataIn(cmd.itt(), 0, 0, 512), false);
        vertx.setTimer(50, t -> c.close()); // the connection dies mid-read
      } else if (pdu instanceof TaskMgmtRequestPdu tmf) {
        tmfs.add(tmf.function() + "/" + tmf.referencedTaskTag() + "/" + tmf.expDataSn());
        TaskMgmtResponsePdu r = new TaskMgmtResponsePdu();
        r.response(TaskMgmtResponsePdu.FUNCTION_COMPLETE);
        r.itt(tmf.itt());
        c.send(r, true);
        // RFC 7143 §11.5.6: the target resumes the Data-In at ExpDataSN on the new connection.
        DataInPdu d = dataIn(tmf.referencedTaskTag(), tmf.expDataSn(), 512, 512);
        d.status(0, false, false, 0);
        d.finalBit(true);
        c.send(d, true);
      }
    });
    Session s = login(2, false);
    PendingCommand read = s.submit(0, Cdbs.read16(0, 2), null, 1024);
    try (ScsiResponse r = Await.result(read.response())) {
      assertPattern(r, 1024);
    }
    // The second login reinstates CID 0 of the session (TSIH 0x42), RFC 7143 §7.2.3.
    assertEquals(List.of(List.of(0, 0), List.of(0x42, 0)), target.logins);
    assertEquals(List.of(TaskMgmtRequestPdu.TASK_REASSIGN + "/" + read.itt() + "/1"), tmfs);
    assertEquals(1, s.recoveries());
    Await.result(s.logout());
  }

  @Test
  void erl0SessionRecoveryLogsInAgainAndReissues() {
    List<Integer> cmdSns = new CopyOnWriteArrayList<>();
    target = FakeTarget.start(vertx, (c, pdu) -> {
      if (!(pdu instanceof ScsiCommandPdu cmd)) return;
      cmdSns.add(cmd.cmdSn());
      if (cmdSns.size() == 1) {
        c.close();
        return;
      }
      c.expCmdSn = cmd.cmdSn() + 1;
      c.send(good(cmd.itt(), 0), true);
    });
    Session s = login(0, true);
    try (ScsiResponse r = Await.result(s.testUnitReady(0))) {
      assertTrue(r.isGood());
    }
    // A new session (TSIH 0, same ISID) and the command again from its first CmdSN.
    assertEquals(List.of(List.of(0, 0), List.of(0, 0)), target.logins);
    assertEquals(List.of(1, 1), cmdSns);
    assertEquals(1, s.recoveries());
    Await.result(s.logout());
  }
}
