package io.spindle.server.iser;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.spindle.initiator.Await;
import io.spindle.initiator.InitiatorOptions;
import io.spindle.initiator.IscsiInitiator;
import io.spindle.initiator.ScsiResponse;
import io.spindle.initiator.Session;
import io.spindle.initiator.cli.IscsiUrl;
import io.spindle.initiator.cli.VerifyWorkload;
import io.spindle.server.ItSupport;
import io.spindle.server.SpindleServer;
import io.spindle.server.config.ServerConfig;
import io.spindle.transport.iser.IserHeader;
import io.spindle.transport.iser.IserHello;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The RFC 5046 connection style on the same {@code iser-iwarp} portal that serves the RFC 7145
 * style: the project's initiator logs in over plain TCP in byte-stream mode, the connection moves to
 * MPA after the final Login Response, the iSER Hello is answered with a HelloReply, and full feature
 * phase runs with RFC 5046's 12-byte header. Also what the target does with a Hello it cannot serve,
 * a Hello where the login should be, a first iSER message that is not a Hello, and a plain iSCSI/TCP
 * initiator (RDMAExtensions=No: the connection stays iSCSI/TCP).
 */
class IserRfc5046IT {

  static final String TARGET = IserServerIT.TARGET;
  static final String HOST = IserServerIT.ISER_HOST;
  static final int BLOCK = 512;

  static Vertx vertx;
  static SpindleServer server;
  static int port;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    server = SpindleServer.start(vertx, ServerConfig.fromJson(IserServerIT.config())).await(30, TimeUnit.SECONDS);
    port = server.ports().get(1);
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) server.stop().await(30, TimeUnit.SECONDS);
    if (vertx != null) vertx.close().await(10, TimeUnit.SECONDS);
  }

  static InitiatorOptions rfc5046() {
    return new InitiatorOptions().setTransport(InitiatorOptions.TRANSPORT_ISER_IWARP)
        .setIserStyle(InitiatorOptions.ISER_STYLE_RFC5046);
  }

  static Session login(IscsiInitiator ini) {
    return ItSupport.loginReady(ini, HOST, port, TARGET);
  }

  @Test
  void byteStreamLoginThenMpaAndHelloMovesDataBothWays() {
    IscsiInitiator ini = IscsiInitiator.create(vertx, rfc5046());
    try {
      Session s = login(ini);
      try {
        assertEquals("Yes", s.parameters().targetValue("RDMAExtensions"), s.parameters().toString());
        ItSupport.writeReadBack(s, 128, BLOCK, "RFC 5046 iSER", 512, 8192, 65536, 1 << 20);
        Await.result(s.nop());
      } finally {
        Await.result(s.logout());
      }
    } finally {
      Await.result(ini.close());
    }
  }

  /** The must-show, bounded to 5 s here; the 60 s run is in ops/bench/RESULTS-iser.md. */
  @Test
  void verifyWorkloadOverTheRfc5046StyleFindsNoMismatch() {
    IscsiUrl url = new IscsiUrl(HOST, port, TARGET, 0, InitiatorOptions.TRANSPORT_ISER_IWARP)
        .withIserStyle(InitiatorOptions.ISER_STYLE_RFC5046);
    ItSupport.verifyClean(new VerifyWorkload.Settings(url, 0, 1, 32, Duration.ofSeconds(5),
        Duration.ZERO, 0, 0, 512, 1 << 20, 11, 32L << 20));
  }

  @Test
  void helloForVersionsTheTargetLacksGetsAHelloReplyWithReject() {
    // RFC 5046 §9.3: versions 2..2; the target speaks version 1 only and rejects.
    IscsiInitiator ini = IscsiInitiator.create(vertx, rfc5046().setIserHelloVersions(2, 2));
    try {
      Throwable why = assertThrows(Throwable.class, () -> Await.result(ini.login(HOST, port, TARGET)));
      assertTrue(String.valueOf(why.getMessage()).contains("HelloReply: rejected"), String.valueOf(why));
    } finally {
      Await.result(ini.close());
    }
    stillServes();
  }

  @Test
  void firstIserMessageThatIsNotAHelloEndsTheConnection() {
    IscsiInitiator ini = IscsiInitiator.create(vertx, rfc5046().setIserHello(false));
    try {
      // The login completes in byte-stream mode; the first Send after MPA is then a command.
      Session s = Await.result(ini.login(HOST, port, TARGET));
      assertThrows(Throwable.class, () -> Await.result(s.testUnitReady(0), Duration.ofSeconds(20)));
      Throwable closed = Await.result(s.connection().closeFuture(), Duration.ofSeconds(10));
      assertNotNull(s.connection().isClosed() ? "closed" : null, "connection still open: " + closed);
      Await.result(s.close());
    } finally {
      Await.result(ini.close());
    }
    stillServes();
  }

  @Test
  void helloWhereTheLoginRequestShouldBeIsRefused() throws Exception {
    Buffer hello = Buffer.buffer();
    io.netty.buffer.ByteBuf b = Unpooled.buffer(IserHeader.Format.RFC5046.length);
    new IserHello.Hello(1, 1, 16).encode(b, IserHeader.Format.RFC5046);
    byte[] bytes = new byte[b.readableBytes()];
    b.readBytes(bytes);
    b.release();
    hello.appendBytes(bytes);
    try (Socket raw = new Socket()) {
      raw.connect(new InetSocketAddress(HOST, port), 5000);
      raw.setSoTimeout(10_000);
      raw.getOutputStream().write(hello.getBytes());
      raw.getOutputStream().flush();
      InputStream in = raw.getInputStream();
      // Neither an MPA Request nor a Login Request: the target closes without answering.
      assertEquals(-1, in.read(), "the target answered a Hello sent on the byte stream");
    }
    stillServes();
  }

  @Test
  void plainIscsiTcpInitiatorOnTheIserPortalStaysIscsiTcp() {
    IscsiInitiator tcp = IscsiInitiator.create(vertx, new InitiatorOptions());
    try {
      Session s = login(tcp);
      try {
        // Neither side offered RDMAExtensions (RFC 7145 §6.3: the target answers it, never initiates it),
        // and MaxRecvDataSegmentLength, irrelevant under iSER (RFC 7145 §6.2), was negotiated: iSCSI/TCP.
        assertEquals(262144, s.parameters().maxRecvDataSegmentLength(), s.parameters().toString());
        byte[] bytes = new byte[65536];
        new Random(3).nextBytes(bytes);
        try (ScsiResponse w = Await.result(s.write(0, 4096, Unpooled.wrappedBuffer(bytes.clone()), BLOCK))) {
          assertTrue(w.isGood(), w.toString());
        }
        try (ScsiResponse r = Await.result(s.read(0, 4096, bytes.length / BLOCK, BLOCK))) {
          byte[] got = new byte[r.data().readableBytes()];
          r.data().getBytes(r.data().readerIndex(), got);
          assertArrayEquals(bytes, got);
        }
      } finally {
        Await.result(s.logout());
      }
    } finally {
      Await.result(tcp.close());
    }
  }

  /** The RFC 7145 style and the RFC 5046 style both still log in after a misbehaving peer. */
  private static void stillServes() {
    for (InitiatorOptions o : new InitiatorOptions[] {rfc5046(),
        new InitiatorOptions().setTransport(InitiatorOptions.TRANSPORT_ISER_IWARP)}) {
      IscsiInitiator ini = IscsiInitiator.create(vertx, o);
      try {
        Session s = login(ini);
        try (ScsiResponse r = Await.result(s.testUnitReady(0))) {
          assertTrue(r.isGood(), r.toString());
        }
        Await.result(s.logout());
      } finally {
        Await.result(ini.close());
      }
    }
  }
}
