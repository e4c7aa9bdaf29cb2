package io.spindle.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.util.ResourceLeakDetector;
import io.spindle.initiator.Await;
import io.spindle.initiator.IscsiInitiator;
import io.spindle.initiator.ScsiResponse;
import io.spindle.initiator.Session;
import io.spindle.initiator.cli.VerifyWorkload;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;

/** What several ITs do against a running server through the project's initiator. */
public final class ItSupport {

  private ItSupport() {
  }

  /**
   * The negotiation limits of the recovery ITs: up to ErrorRecoveryLevel 2 and 4 connections, a
   * one-second Time2Wait so that recovery starts at once, and 20 s to reassign tasks.
   */
  public static JsonObject recoveryNegotiation() {
    return new JsonObject().put("errorRecoveryLevel", 2).put("maxConnections", 4)
        .put("defaultTime2Wait", 1).put("defaultTime2Retain", 20);
  }

  /**
   * Lowers Netty's leak detection from paranoid (the suite's level) to advanced and returns the
   * level to restore; any other level is left as it is. Paranoid tracking records every access of
   * every buffer: at thousands of commands with megabytes of data it slows the workload tenfold.
   * Sampled tracking still reports leaks; the other suites keep paranoid. Netty reads the level on
   * every allocation, so the change takes effect at once.
   */
  public static ResourceLeakDetector.Level sampledLeakDetection() {
    ResourceLeakDetector.Level saved = ResourceLeakDetector.getLevel();
    if (saved == ResourceLeakDetector.Level.PARANOID) {
      ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.ADVANCED);
    }
    return saved;
  }

  /**
   * Logs in and clears a pending unit attention: an earlier test's reset is reported once to the
   * next command (SAM-5 §5.14); anything else but GOOD fails the test.
   */
  public static Session loginReady(IscsiInitiator ini, String host, int port, String target) {
    Session s = Await.result(ini.login(host, port, target));
    for (int i = 0; i < 2; i++) {
      try (ScsiResponse r = Await.result(s.testUnitReady(0))) {
        if (r.isGood()) return s;
        assertEquals(0x06, r.senseKey(), "TEST UNIT READY: " + r);
      }
    }
    return s;
  }

  /** Writes random bytes of each size at {@code lba} of LUN 0 and reads them back, byte for byte. */
  public static void writeReadBack(Session s, long lba, int blockSize, String over, int... sizes) {
    for (int size : sizes) {
      byte[] bytes = new byte[size];
      new Random(size).nextBytes(bytes);
      try (ScsiResponse w = Await.result(s.write(0, lba, Unpooled.wrappedBuffer(bytes.clone()), blockSize))) {
        assertTrue(w.isGood(), "write of " + size + ": " + w);
      }
      try (ScsiResponse r = Await.result(s.read(0, lba, size / blockSize, blockSize))) {
        assertTrue(r.isGood(), "read of " + size + ": " + r);
        byte[] got = new byte[r.data().readableBytes()];
        r.data().getBytes(r.data().readerIndex(), got);
        assertArrayEquals(bytes, got, "data read back over " + over + " differs (" + size + " bytes)");
      }
    }
  }

  /**
   * Runs the verifying workload from a Vert.x instance of its own (the initiator's event loops
   * apart from the server's) and asserts that every command completed and every byte matched.
   */
  public static VerifyWorkload.Result verifyClean(VerifyWorkload.Settings settings) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Vertx client = Vertx.vertx();
    try {
      VerifyWorkload.Result r = new VerifyWorkload(settings, new PrintStream(out, true, StandardCharsets.UTF_8))
          .run(client);
      String detail = r + "\n" + out.toString(StandardCharsets.UTF_8);
      assertEquals(0, r.mismatches(), detail);
      assertEquals(0, r.errors(), detail);
      assertTrue(r.commands() > 20, "too little work done: " + detail);
      return r;
    } finally {
      client.close();
    }
  }
}
