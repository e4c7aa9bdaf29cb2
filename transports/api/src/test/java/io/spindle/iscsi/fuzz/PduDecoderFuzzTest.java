package io.spindle.iscsi.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.AbstractReferenceCounted;
import io.netty.util.ReferenceCounted;
import io.spindle.iscsi.codec.CodecLimits;
import io.spindle.iscsi.codec.FramingError;
import io.spindle.iscsi.codec.PduDecoder;
import io.spindle.iscsi.pdu.Pdu;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Arbitrary bytes through the PDU decoder in a pipeline. Properties: nothing is thrown out of the
 * pipeline, each decoded PDU's segments have the lengths its BHS announces, every typed getter answers,
 * and once the PDUs are released no input buffer is still referenced.
 *
 * <p>Input layout: byte 0 chooses the digests (bits 0, 1), the MaxRecvDataSegmentLength (bits 2, 3) and
 * the chunk size the stream is cut into (bits 4..7: 1 + 3 * n bytes, 0 = one chunk); the rest is the
 * byte stream. See FUZZING.md for the long run.
 */
class PduDecoderFuzzTest {

  private static final int[] MAX_RECV = {512, 8192, 65536, 262144};
  private static final Map<Class<?>, List<Method>> GETTERS = new ConcurrentHashMap<>();

  @FuzzTest(maxDuration = "2m")
  void decode(byte[] input) throws Exception {
    if (input.length == 0) return;
    int control = input[0] & 0xff;
    CodecLimits limits = new CodecLimits().digests((control & 1) != 0, (control & 2) != 0)
        .maxRecvDataSegmentLength(MAX_RECV[(control >> 2) & 3]);
    int chunk = (control >> 4) == 0 ? input.length : 1 + 3 * (control >> 4);
    EmbeddedChannel ch = new EmbeddedChannel(new PduDecoder(limits));
    List<ByteBuf> written = new ArrayList<>();
    List<Object> received = new ArrayList<>();
    try {
      for (int i = 1; i < input.length; i += chunk) {
        ByteBuf b = Unpooled.buffer().writeBytes(input, i, Math.min(chunk, input.length - i));
        written.add(b);
        ch.writeInbound(b);
        ch.checkException();
        for (Object m; (m = ch.readInbound()) != null; ) received.add(m);
      }
      ch.finish();
      ch.checkException();
      for (Object m; (m = ch.readInbound()) != null; ) received.add(m);
      int errors = 0;
      for (Object m : received) {
        if (m instanceof FramingError) {
          errors++;
          continue;
        }
        Pdu pdu = (Pdu) m;
        assertEquals(pdu.dataSegmentLength(), pdu.data().readableBytes(), "data segment length");
        assertEquals(pdu.totalAhsLength() * 4, pdu.ahs().readableBytes(), "AHS length");
        callGetters(pdu);
        assertTrue(errors == 0, "a PDU after a framing error");
      }
      assertTrue(errors <= 1, "more than one framing error");
    } finally {
      for (Object m : received) {
        if (m instanceof ReferenceCounted rc) rc.release();
      }
      ch.finishAndReleaseAll();
    }
    for (ByteBuf b : written) assertEquals(0, b.refCnt(), "input buffer still referenced after all PDUs were released");
  }

  /** Every public getter of the PDU's class must answer for any bytes that framed correctly. */
  private static void callGetters(Pdu pdu) throws Exception {
    for (Method m : GETTERS.computeIfAbsent(pdu.getClass(), PduDecoderFuzzTest::getters)) {
      try {
        m.invoke(pdu);
      } catch (InvocationTargetException e) {
        throw new AssertionError(pdu.getClass().getSimpleName() + "." + m.getName() + "() threw", e.getCause());
      }
    }
    pdu.toString();
  }

  private static List<Method> getters(Class<?> type) {
    List<Method> out = new ArrayList<>();
    for (Method m : type.getMethods()) {
      if (m.getParameterCount() != 0 || m.getReturnType() == void.class || Modifier.isStatic(m.getModifiers())
          || m.getDeclaringClass().isAssignableFrom(AbstractReferenceCounted.class)
          || ReferenceCounted.class.isAssignableFrom(m.getReturnType())
          || Set.of("release", "retain", "touch", "refCnt", "hashCode").contains(m.getName())) {
        continue;
      }
      out.add(m);
    }
    return out;
  }
}
