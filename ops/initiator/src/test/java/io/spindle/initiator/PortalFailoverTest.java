package io.spindle.initiator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.spindle.iscsi.pdu.DataInPdu;
import io.spindle.iscsi.pdu.ScsiCommandPdu;
import io.spindle.iscsi.pdu.TaskMgmtRequestPdu;
import io.spindle.iscsi.pdu.TaskMgmtResponsePdu;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * ERL 2 across portals against two scripted targets standing for two nodes of one target: the
 * session's node loses the connection (or stops answering), and the session continues on the
 * other with the same ISID, TSIH and CID (RFC 7143 §7.1, §6.3), TASK REASSIGN first; each TASK
 * REASSIGN outcome of RFC 7143 §11.6.1 leads to what it should.
 */
class PortalFailoverTest {

  private static final String TARGET = "iqn.2026-11.io.spindle:fake";
  private Vertx vertx;
  private IscsiInitiator initiator;
  private FakeTarget a;
  private FakeTarget b;
  /** What node B saw: "login tsih/cid", "tmf function/refItt/refCmdSn/expDataSn", "cmd itt/cmdSn". */
  private final List<String> seenByB = new CopyOnWriteArrayList<>();

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
  }

  @AfterEach
  void tearDown() {
    if (initiator != null) Await.result(initiator.close());
    if (a != null) a.close();
    if (b != null) b.close();
    Await.result(vertx.close());
  }

  /** Data-In of {@code length} pattern bytes from {@code offset}, DataSN {@code dataSn}, with status. */
  private static DataInPdu finalDataIn(int itt, int dataSn, int offset, int length) {
    DataInPdu d = new DataInPdu();
    d.itt(itt);
    d.ttt(0xffffffff);
    d.dataSn(dataSn).bufferOffset(offset);
    ByteBuf data = Unpooled.buffer(length);
    for (int i = 0; i < length; i++) data.writeByte(offset + i);
    d.data(data);
    d.status(0, false, false, 0);
    d.finalBit(true);
    return d;
  }

  /** Node B: answers TASK REASSIGN with {@code response} and serves reads whole. */
  private FakeTarget nodeB(int response) {
    return FakeTarget.start(vertx, (c, pdu) -> {
      if (pdu instanceof TaskMgmtRequestPdu tmf) {
        seenByB.add("tmf " + tmf.function() + "/" + tmf.referencedTaskTag() + "/" + tmf.refCmdSn() + "/"
            + tmf.expDataSn());
        TaskMgmtResponsePdu r = new TaskMgmtResponsePdu();
        r.response(response);
        r.itt(tmf.itt());
        c.send(r, true);
        if (response == TaskMgmtResponsePdu.FUNCTION_COMPLETE) {
          c.send(finalDataIn(tmf.referencedTaskTag(), tmf.expDataSn(), 0, 1024), true);
        }
      } else if (pdu instanceof ScsiCommandPdu cmd) {
        seenByB.add("cmd " + cmd.itt() + "/" + cmd.cmdSn());
        c.send(finalDataIn(cmd.itt(), 0, 0, 1024), true);
      }
    });
  }

  private Session login(long livenessMillis) {
    initiator = IscsiInitiator.create(vertx, new InitiatorOptions().setCommandTimeoutMillis(10_000)
        .setErrorRecoveryLevel(2).setDefaultTime2Wait(0).setLivenessTimeoutMillis(livenessMillis)
        .addPortal("127.0.0.1:" + b.port()));
    Session s = Await.result(initiator.login("127.0.0.1", a.port(), TARGET));
    assertEquals(2, s.parameters().errorRecoveryLevel());
    return s;
  }

  private static void assertPattern(ScsiResponse r) {
    assertTrue(r.isGood(), r.toString());
    assertEquals(1024, r.data().readableBytes());
    for (int i = 0; i < 1024; i++) assertEquals((byte) i, r.data().getByte(i), "byte " + i);
  }

  /** Node A drops the connection as the command arrives (a killed node: its socket is reset). */
  private FakeTarget dyingNodeA() {
    return FakeTarget.start(vertx, (c, pdu) -> {
      if (pdu instanceof ScsiCommandPdu) c.close();
    });
  }

  @Test
  void aTaskTheSurvivorHoldsIsReassignedAndContinues() {
    a = dyingNodeA();
    b = nodeB(TaskMgmtResponsePdu.FUNCTION_COMPLETE);
    Session s = login(0);
    PendingCommand read = s.submit(0, Cdbs.read16(0, 2), null, 1024);
    try (ScsiResponse r = Await.result(read.response())) {
      assertPattern(r);
    }
    // Same session (TSIH 0x42 from A's login) and CID 0 reinstated on B; the task moved, not re-sent.
    assertEquals(List.of(List.of(0x42, 0)), b.logins);
    assertEquals(List.of("tmf " + TaskMgmtRequestPdu.TASK_REASSIGN + "/" + read.itt() + "/1/0"), seenByB);
    assertEquals(1, s.failovers());
    assertEquals(((java.net.InetSocketAddress) s.connection().remoteAddress()).getPort(), b.port());
    Await.result(s.logout());
  }

  /**
   * RFC 7143 §11.6.1 response 1 (task does not exist: the survivor never heard of it), 4 and 5
   * (reassignment or the function not supported): the command is sent again with its original
   * ITT and CmdSN, not as a new task.
   */
  @ParameterizedTest
  @ValueSource(ints = {TaskMgmtResponsePdu.TASK_DOES_NOT_EXIST, TaskMgmtResponsePdu.REASSIGNMENT_NOT_SUPPORTED,
      TaskMgmtResponsePdu.FUNCTION_NOT_SUPPORTED})
  void aTaskTheSurvivorCannotContinueIsRetriedWithItsIttAndCmdSn(int response) {
    a = dyingNodeA();
    b = nodeB(response);
    Session s = login(0);
    PendingCommand read = s.submit(0, Cdbs.read16(0, 2), null, 1024);
    try (ScsiResponse r = Await.result(read.response())) {
      assertPattern(r);
    }
    assertEquals(List.of("tmf " + TaskMgmtRequestPdu.TASK_REASSIGN + "/" + read.itt() + "/1/0",
        "cmd " + read.itt() + "/1"), seenByB);
    assertEquals(1, s.failovers());
    Await.result(s.logout());
  }

  /** Any other refusal (here "task still allegiant", 3): the command starts over as a new task (new CmdSN). */
  @Test
  void aRefusedReassignmentSendsTheCommandAsANewTask() {
    a = dyingNodeA();
    b = nodeB(TaskMgmtResponsePdu.TASK_STILL_ALLEGIANT);
    Session s = login(0);
    PendingCommand read = s.submit(0, Cdbs.read16(0, 2), null, 1024);
    try (ScsiResponse r = Await.result(read.response())) {
      assertPattern(r);
    }
    assertEquals(List.of("tmf " + TaskMgmtRequestPdu.TASK_REASSIGN + "/" + read.itt() + "/1/0",
        "cmd " + read.itt() + "/2"), seenByB);
    Await.result(s.logout());
  }

  /**
   * A hung node (SIGSTOP) keeps its socket open and says nothing: the liveness watch resets the
   * connection (TCP RST, so nothing queued for the node survives for it to act on when it runs
   * again) and the session continues on the other portal.
   */
  @Test
  void aNodeThatStopsAnsweringIsLeftForTheNextPortal() throws InterruptedException {
    a = FakeTarget.start(vertx, (c, pdu) -> {
      // Takes the command and never answers.
    });
    b = nodeB(TaskMgmtResponsePdu.FUNCTION_COMPLETE);
    Session s = login(300);
    PendingCommand read = s.submit(0, Cdbs.read16(0, 2), null, 1024);
    try (ScsiResponse r = Await.result(read.response())) {
      assertPattern(r);
    }
    assertEquals(List.of(List.of(0x42, 0)), b.logins);
    assertEquals(1, s.failovers());
    // The reset reaches node A after the recovery has started: wait for it, bounded.
    for (int i = 0; i < 100 && a.resets.get() == 0; i++) Thread.sleep(20);
    assertEquals(1, a.resets.get(), "node A saw a reset, not a FIN");
    Await.result(s.logout());
  }

  /** The first portal is down at login: the session starts on the next one. */
  @Test
  void theLeadingLoginTriesTheNextPortal() {
    a = FakeTarget.start(vertx, (c, pdu) -> { });
    int deadPort = a.port();
    a.close();
    a = null;
    b = nodeB(TaskMgmtResponsePdu.FUNCTION_COMPLETE);
    initiator = IscsiInitiator.create(vertx, new InitiatorOptions().addPortal("127.0.0.1:" + b.port()));
    Session s = Await.result(initiator.login("127.0.0.1", deadPort, TARGET));
    assertEquals(b.port(), ((java.net.InetSocketAddress) s.connection().remoteAddress()).getPort());
    assertEquals(List.of(List.of(0, 0)), b.logins);
    Await.result(s.logout());
  }
}
