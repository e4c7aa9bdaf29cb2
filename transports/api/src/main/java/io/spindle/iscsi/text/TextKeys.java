package io.spindle.iscsi.text;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The key=value text of Login and Text PDUs (RFC 7143 §6.1): UTF-8 {@code key=value} pairs,
 * each terminated by a NUL byte. Order is kept, because answers must follow offers.
 */
public final class TextKeys {

  /** RFC 7143 §6.1: key names are at most 63 bytes. */
  public static final int MAX_KEY_LENGTH = 63;
  /** RFC 7143 §6.1: values are at most 255 bytes, except where a key says otherwise (CHAP, SendTargets data). */
  public static final int MAX_VALUE_LENGTH = 8192;

  /** One key=value pair. */
  public record Pair(String key, String value) {
    @Override
    public String toString() {
      return key + "=" + value;
    }
  }

  /** Thrown for text that is not a sequence of well-formed key=value pairs. */
  public static final class MalformedTextException extends Exception {
    private static final long serialVersionUID = 1L;

    public MalformedTextException(String message) {
      super(message);
    }
  }

  private TextKeys() {
  }

  /**
   * Parses a complete text (all PDUs of a C-bit sequence joined). Trailing NULs are allowed;
   * a pair without '=' or with an over-long key or value is malformed.
   */
  public static List<Pair> parse(ByteBuf text) throws MalformedTextException {
    List<Pair> pairs = new ArrayList<>();
    int i = text.readerIndex();
    int end = text.writerIndex();
    while (i < end) {
      int nul = text.indexOf(i, end, (byte) 0);
      int stop = nul < 0 ? end : nul;
      if (stop > i) {
        String pair = text.toString(i, stop - i, StandardCharsets.UTF_8);
        int eq = pair.indexOf('=');
        if (eq <= 0) throw new MalformedTextException("text \"" + abbreviate(pair) + "\" is not key=value");
        String key = pair.substring(0, eq);
        String value = pair.substring(eq + 1);
        if (key.length() > MAX_KEY_LENGTH) {
          throw new MalformedTextException("key \"" + abbreviate(key) + "\" is longer than " + MAX_KEY_LENGTH + " bytes");
        }
        if (value.length() > MAX_VALUE_LENGTH) {
          throw new MalformedTextException("value of " + key + " is longer than " + MAX_VALUE_LENGTH + " bytes");
        }
        pairs.add(new Pair(key, value));
      }
      i = stop + 1;
    }
    return pairs;
  }

  /** Encodes pairs as key=value NUL ... */
  public static ByteBuf encode(List<Pair> pairs) {
    ByteBuf out = Unpooled.buffer();
    for (Pair p : pairs) {
      out.writeCharSequence(p.key(), StandardCharsets.UTF_8);
      out.writeByte('=');
      out.writeCharSequence(p.value(), StandardCharsets.UTF_8);
      out.writeByte(0);
    }
    return out;
  }

  private static String abbreviate(String s) {
    return s.length() > 40 ? s.substring(0, 40) + "..." : s;
  }
}
