package io.spindle.initiator;

import io.netty.channel.ChannelPipeline;
import io.spindle.iscsi.codec.CodecLimits;
import io.spindle.iscsi.codec.PduDecoder;
import io.spindle.iscsi.codec.PduEncoder;
import io.spindle.iscsi.pdu.InitiatorPdu;
import io.spindle.iscsi.pdu.LoginRequestPdu;
import io.spindle.iscsi.pdu.LoginResponsePdu;
import io.spindle.iscsi.pdu.LogoutResponsePdu;
import io.spindle.iscsi.pdu.Pdu;
import io.spindle.iscsi.pdu.TargetPdu;
import io.spindle.iscsi.text.TextKeys;
import io.vertx.core.Vertx;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetServer;
import java.util.ArrayList;
import java.util.List;

/**
 * A scripted in-process target for initiator tests: answers login (security then operational
 * stage, echoing the offered keys) and logout itself and hands every other PDU to the script.
 */
final class FakeTarget {

  interface Script {
    /** Called on the target's event loop; the PDU is released after the call. */
    void onPdu(Conn conn, InitiatorPdu pdu);
  }

  final class Conn {
    final NetSocketInternal socket;
    int statSn = 100;
    int expCmdSn = 1;
    /** The window the target advertises; tests narrow it. */
    int maxCmdSn = 64;
    boolean loggedIn;

    Conn(NetSocketInternal socket) {
      this.socket = socket;
    }

    /** Fills StatSN (advancing it when {@code status}), ExpCmdSN and MaxCmdSN and sends. */
    void send(TargetPdu pdu, boolean status) {
      pdu.statSn(status ? statSn++ : statSn).expCmdSn(expCmdSn).maxCmdSn(maxCmdSn);
      socket.writeMessage(pdu);
    }

    void close() {
      socket.close();
    }
  }

  private final NetServer server;
  private final Script script;
  final List<Conn> connections = new java.util.concurrent.CopyOnWriteArrayList<>();
  /** Connections the initiator reset (TCP RST) rather than closed. */
  final java.util.concurrent.atomic.AtomicInteger resets = new java.util.concurrent.atomic.AtomicInteger();
  /** TSIH and CID of each Login Request that opened a login, in order. */
  final List<List<Integer>> logins = new java.util.concurrent.CopyOnWriteArrayList<>();
  int initialMaxCmdSn = 64;

  private FakeTarget(Vertx vertx, Script script) {
    this.script = script;
    this.server = vertx.createNetServer().connectHandler(s -> {
      NetSocketInternal so = (NetSocketInternal) s;
      CodecLimits limits = new CodecLimits();
      ChannelPipeline p = so.channelHandlerContext().pipeline();
      p.addBefore("handler", "decoder", new PduDecoder(limits));
      p.addBefore("handler", "encoder", new PduEncoder(limits));
      Conn c = new Conn(so);
      c.maxCmdSn = initialMaxCmdSn;
      connections.add(c);
      so.exceptionHandler(e -> {
        if (String.valueOf(e.getMessage()).contains("reset")) resets.incrementAndGet();
      });
      so.messageHandler(msg -> {
        if (!(msg instanceof Pdu pdu)) return;
        try {
          handle(c, (InitiatorPdu) pdu);
        } finally {
          pdu.release();
        }
      });
    });
  }

  static FakeTarget start(Vertx vertx, Script script) {
    FakeTarget t = new FakeTarget(vertx, script);
    Await.result(t.server.listen(0, "127.0.0.1"));
    return t;
  }

  int port() {
    return server.actualPort();
  }

  void close() {
    Await.result(server.close());
  }

  private void handle(Conn c, InitiatorPdu pdu) {
    if (pdu instanceof LoginRequestPdu req) {
      if (req.csg() == 0 || !c.loggedIn) logins.add(List.of(req.tsih(), req.cid()));
      c.loggedIn = true;
      LoginResponsePdu resp = new LoginResponsePdu();
      resp.isid(req.isid()).itt(req.itt());
      List<TextKeys.Pair> answers = new ArrayList<>();
      try {
        for (TextKeys.Pair kv : TextKeys.parse(req.data())) {
          if (kv.key().equals("InitiatorName") || kv.key().equals("SessionType") || kv.key().equals("TargetName")) {
            continue;
          }
          if (kv.key().equals("MaxRecvDataSegmentLength")) continue;
          int comma = kv.value().indexOf(',');
          answers.add(new TextKeys.Pair(kv.key(), comma < 0 ? kv.value() : kv.value().substring(0, comma)));
        }
      } catch (TextKeys.MalformedTextException e) {
        throw new IllegalStateException(e);
      }
      if (req.csg() == 1) answers.add(new TextKeys.Pair("MaxRecvDataSegmentLength", "8192"));
      resp.transit(true).stages(req.csg(), req.csg() == 0 ? 1 : 3);
      if (req.csg() == 1) resp.tsih(0x42);
      resp.data(TextKeys.encode(answers));
      c.expCmdSn = req.cmdSn();
      c.send(resp, true);
      return;
    }
    if (pdu.opcode() == io.spindle.iscsi.pdu.Opcode.LOGOUT_REQUEST) {
      LogoutResponsePdu resp = new LogoutResponsePdu();
      resp.itt(pdu.itt());
      c.send(resp, true);
      return;
    }
    script.onPdu(c, pdu);
  }
}
