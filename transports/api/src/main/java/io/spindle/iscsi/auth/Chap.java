package io.spindle.iscsi.auth;

import io.spindle.iscsi.negotiation.NegotiationException;
import io.spindle.iscsi.text.TextKeys.Pair;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

/** Encodings and checks both CHAP roles share. Messages built here never contain a secret. */
final class Chap {

  static final String A = "CHAP_A";
  static final String I = "CHAP_I";
  static final String C = "CHAP_C";
  static final String N = "CHAP_N";
  static final String R = "CHAP_R";

  /** RFC 7143 §6.1: a value is at most 255 bytes unless its key says otherwise; CHAP_N does not. */
  static final int MAX_NAME_LENGTH = 255;
  /** RFC 7143 §12.1.3: the binary length of CHAP_C and CHAP_R must not exceed 1024 bytes. */
  static final int MAX_BINARY_LENGTH = 1024;
  /** The shortest challenge this implementation sends (RFC 1994 §2.3: unpredictable and long enough). */
  static final int MIN_CHALLENGE_LENGTH = 16;

  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private Chap() {
  }

  static int utf8Length(String s) {
    return s.getBytes(StandardCharsets.UTF_8).length;
  }

  /** RFC 7143 §6.1 hex-constant: "0x" followed by two hex digits per byte. */
  static String hex(byte[] b) {
    char[] out = new char[2 + 2 * b.length];
    out[0] = '0';
    out[1] = 'x';
    for (int i = 0; i < b.length; i++) {
      out[2 + 2 * i] = HEX[(b[i] >> 4) & 0xf];
      out[3 + 2 * i] = HEX[b[i] & 0xf];
    }
    return new String(out);
  }

  /**
   * Decodes a binary value, hex ({@code 0x}/{@code 0X}) or base64 ({@code 0b}/{@code 0B}) as RFC 7143 §6.1
   * allows, refusing anything longer than {@link #MAX_BINARY_LENGTH} bytes before decoding it.
   *
   * @return the bytes, or null if the value is not a well-formed binary value of 1..1024 bytes
   */
  static byte[] binary(String v) {
    if (v.length() < 3 || v.charAt(0) != '0') return null;
    char form = v.charAt(1);
    String body = v.substring(2);
    if (form == 'x' || form == 'X') {
      if (body.length() > 2 * MAX_BINARY_LENGTH) return null;
      // An odd number of digits: the first one stands alone in the first byte.
      int odd = body.length() & 1;
      byte[] out = new byte[(body.length() + 1) / 2];
      for (int i = 0; i < body.length(); i++) {
        int d = Character.digit(body.charAt(i), 16);
        if (d < 0 || body.charAt(i) > 'f') return null; // Character.digit accepts non-ASCII digits
        int pos = i + odd;
        out[pos / 2] |= (byte) ((pos & 1) == 0 ? d << 4 : d);
      }
      return out;
    }
    if (form == 'b' || form == 'B') {
      if (body.length() > (MAX_BINARY_LENGTH + 2) / 3 * 4) return null;
      try {
        byte[] out = Base64.getDecoder().decode(body);
        return out.length == 0 ? null : out;
      } catch (IllegalArgumentException e) {
        return null;
      }
    }
    return null;
  }

  /** A number as RFC 7143 §6.1 writes them, decimal or hex; -1 if malformed or above {@code max}. */
  static int number(String v, int max) {
    int radix = 10;
    String digits = v;
    if (v.length() > 2 && v.charAt(0) == '0' && (v.charAt(1) == 'x' || v.charAt(1) == 'X')) {
      radix = 16;
      digits = v.substring(2);
    }
    if (digits.isEmpty() || digits.length() > 10) return -1;
    long n = 0;
    for (int i = 0; i < digits.length(); i++) {
      char ch = digits.charAt(i);
      int d = ch < 128 ? Character.digit(ch, radix) : -1;
      if (d < 0) return -1;
      n = n * radix + d;
    }
    return n > max ? -1 : (int) n;
  }

  /** The value of {@code key} in {@code keys}, or null. Callers have already refused repeated keys. */
  static String value(List<Pair> keys, String key) {
    for (Pair p : keys) {
      if (p.key().equals(key)) return p.value();
    }
    return null;
  }

  static NegotiationException initiatorError(String message) {
    return new NegotiationException(NegotiationException.INITIATOR_ERROR, message);
  }

  static NegotiationException authenticationFailure(String message) {
    return new NegotiationException(ChapAuthenticator.AUTHENTICATION_FAILURE, message);
  }

  /** Shortens a peer-supplied text for a message (never used for anything secret). */
  static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    int n = Math.min(s.length(), 64);
    for (int i = 0; i < n; i++) {
      char ch = s.charAt(i);
      b.append(ch >= 0x20 && ch < 0x7f ? ch : '?');
    }
    if (s.length() > n) b.append("...");
    return b.append('"').toString();
  }
}
