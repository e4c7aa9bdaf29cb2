package io.spindle.initiator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.spindle.iscsi.pdu.NopInPdu;
import io.spindle.iscsi.pdu.NopOutPdu;
import io.spindle.iscsi.pdu.Opcode;
import io.spindle.iscsi.pdu.Pdu;
import io.spindle.iscsi.pdu.RejectPdu;
import io.spindle.iscsi.pdu.ScsiCommandPdu;
import io.spindle.iscsi.pdu.ScsiResponsePdu;
import io.spindle.iscsi.pdu.TextResponsePdu;
import io.spindle.iscsi.text.TextKeys;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Session behaviour the real target cannot be made to show on demand, against {@link FakeTarget}. */
class FakeTargetSessionTest {

  private Vertx vertx;
  private IscsiInitiator initiator;
  private FakeTarget target;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    initiator = IscsiInitiator.create(vertx, new InitiatorOptions().setCommandTimeoutMillis(5_000));
  }

  @AfterEach
  void tearDown() {
    Await.result(initiator.close());
    if (target != null) target.close();
    Await.result(vertx.close());
  }

  private Session login() {
    return Await.result(initiator.login("127.0.0.1", target.port(), "iqn.2026-11.io.spindle:fake"));
  }

  private static ScsiResponsePdu good(int itt) {
    ScsiResponsePdu r = new ScsiResponsePdu();
    r.itt(itt);
    return r;
  }

  @Test
  void commandsWaitForTheCmdSnWindow() {
    List<String> violations = new CopyOnWriteArrayList<>();
    List<Integer> seen = new CopyOnWriteArrayList<>();
    target = FakeTarget.start(vertx, (c, pdu) -> {
      if (!(pdu instanceof ScsiCommandPdu cmd)) return;
      // RFC 7143 §4.2.2.1: the initiator must not send CmdSN beyond MaxCmdSN.
      if (cmd.cmdSn() - c.maxCmdSn > 0) violations.add("CmdSN " + cmd.cmdSn() + " > MaxCmdSN " + c.maxCmdSn);
      seen.add(cmd.cmdSn());
      c.expCmdSn = cmd.cmdSn() + 1;
      c.maxCmdSn = cmd.cmdSn() + 1; // open the window by exactly one
      c.send(good(cmd.itt()), true);
    });
    target.initialMaxCmdSn = 1; // a window of one command
    Session s = login();
    List<Future<ScsiResponse>> all = new ArrayList<>();
    for (int i = 0; i < 5; i++) all.add(s.testUnitReady(0));
    for (Future<ScsiResponse> f : all) Await.result(f).close();
    assertEquals(List.of(), violations);
    assertEquals(List.of(1, 2, 3, 4, 5), seen);
    assertEquals(0x42, s.tsih());
    Await.result(s.logout());
  }

  @Test
  void targetPingIsAnsweredWithItsTag() {
    int[] held = {0};
    target = FakeTarget.start(vertx, (c, pdu) -> {
      if (pdu instanceof ScsiCommandPdu cmd) {
        held[0] = cmd.itt();
        NopInPdu ping = new NopInPdu();
        ping.itt(0xffffffff);
        ping.ttt(0x77);
        c.send(ping, false);
      } else if (pdu instanceof NopOutPdu nop && nop.ttt() == 0x77 && nop.itt() == 0xffffffff) {
        c.send(good(held[0]), true);
      }
    });
    Session s = login();
    try (ScsiResponse r = Await.result(s.testUnitReady(0))) {
      assertTrue(r.isGood());
    }
  }

  @Test
  void closedConnectionFailsPendingAndLaterCommands() {
    target = FakeTarget.start(vertx, (c, pdu) -> {
      if (pdu.opcode() == Opcode.SCSI_COMMAND) c.close();
    });
    Session s = login();
    Future<ScsiResponse> pending = s.read(0, 0, 8, 512);
    assertThrows(ConnectionClosedException.class, () -> Await.result(pending));
    assertThrows(ConnectionClosedException.class, () -> Await.result(s.testUnitReady(0)));
    assertThrows(ConnectionClosedException.class, () -> Await.result(s.write(0, 0, Unpooled.buffer(512).writeZero(512), 512)));
    Await.result(s.connection().closeFuture());
    assertTrue(s.connection().isClosed());
  }

  @Test
  void rejectFailsTheRejectedCommandOnly() {
    target = FakeTarget.start(vertx, (c, pdu) -> {
      if (!(pdu instanceof ScsiCommandPdu cmd)) return;
      if ((cmd.cdb().getByte(0) & 0xff) == 0x12) {
        RejectPdu rej = new RejectPdu();
        rej.reason(RejectPdu.INVALID_PDU_FIELD);
        rej.data(Unpooled.copiedBuffer(cmd.bhs()));
        c.send(rej, true);
      } else {
        c.send(good(cmd.itt()), true);
      }
    });
    Session s = login();
    PduRejectedException e = assertThrows(PduRejectedException.class, () -> Await.result(s.inquiry(0)));
    assertEquals(RejectPdu.INVALID_PDU_FIELD, e.reason());
    Await.result(s.testUnitReady(0)).close();
  }

  @Test
  void commandWithoutAnswerTimesOut() {
    initiator = replace(initiator, new InitiatorOptions().setCommandTimeoutMillis(300));
    target = FakeTarget.start(vertx, (c, pdu) -> { });
    Session s = login();
    assertThrows(RequestTimeoutException.class, () -> Await.result(s.read(0, 0, 1, 512)));
    assertEquals(0, s.outstanding());
  }

  private IscsiInitiator replace(IscsiInitiator old, InitiatorOptions options) {
    Await.result(old.close());
    return IscsiInitiator.create(vertx, options);
  }

  @Test
  void discoveryFollowsTextContinuation() {
    byte[] text = TextKeys.encode(List.of(
        new TextKeys.Pair("TargetName", "iqn.2026-11.io.spindle:a"),
        new TextKeys.Pair("TargetAddress", "127.0.0.1:3260,1"),
        new TextKeys.Pair("TargetName", "iqn.2026-11.io.spindle:b"),
        new TextKeys.Pair("TargetAddress", "127.0.0.1:3260,1"),
        new TextKeys.Pair("TargetAddress", "[::1]:3260,1"))).array().clone();
    int split = 30; // inside a key=value: the C bit says the text continues (RFC 7143 §11.11.2)
    target = FakeTarget.start(vertx, (c, pdu) -> {
      if (pdu.opcode() != Opcode.TEXT_REQUEST) return;
      TextResponsePdu r = new TextResponsePdu();
      r.itt(pdu.itt());
      if (pdu.ttt() == 0xffffffff) {
        assertEquals("SendTargets=All\0", pdu.data().toString(StandardCharsets.UTF_8));
        r.continueBit(true);
        r.ttt(5);
        r.data(Unpooled.copiedBuffer(text, 0, split));
      } else {
        r.finalBit(true);
        r.ttt(0xffffffff);
        r.data(Unpooled.copiedBuffer(text, split, text.length - split));
      }
      c.send(r, true);
    });
    List<DiscoveredTarget> found = Await.result(initiator.discover("127.0.0.1", target.port()));
    assertEquals(List.of(
        new DiscoveredTarget("iqn.2026-11.io.spindle:a", List.of("127.0.0.1:3260,1")),
        new DiscoveredTarget("iqn.2026-11.io.spindle:b", List.of("127.0.0.1:3260,1", "[::1]:3260,1"))), found);
  }

  @Test
  void rawConnectionSendsBytesAndObservesPdus() throws Exception {
    List<String> observed = new CopyOnWriteArrayList<>();
    target = FakeTarget.start(vertx, (c, pdu) -> {
      if (pdu instanceof NopOutPdu nop) {
        NopInPdu in = new NopInPdu();
        in.itt(nop.itt());
        in.ttt(0xffffffff);
        c.send(in, true);
      }
    });
    Connection conn = Await.result(initiator.connect("127.0.0.1", target.port()));
    Future<Pdu> first = Future.future(p -> conn.pduHandler(pdu -> p.tryComplete(pdu.retain())));
    NopOutPdu nop = new NopOutPdu();
    nop.itt(0x99);
    nop.ttt(0xffffffff);
    Await.result(conn.sendRaw(Unpooled.copiedBuffer(nop.bhs())));
    nop.release();
    Pdu answer = Await.result(first);
    try {
      observed.add(answer.opcode() + "/" + Integer.toHexString(answer.itt()));
    } finally {
      answer.release();
    }
    assertEquals(List.of("NOP_IN/99"), observed);
    // Vert.x 5 Future.await works from a plain (non-Vert.x) thread such as the test's.
    conn.close().await(10, TimeUnit.SECONDS);
    assertTrue(conn.isClosed());
  }
}
