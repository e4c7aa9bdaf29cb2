package io.spindle.iscsi.negotiation;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Value syntax (RFC 7143 §6.1) and the result functions (RFC 7143 §6.2): the one place where
 * an answer is chosen from an offer, and where an answer is checked against the offer.
 */
public final class Values {

  public static final String YES = "Yes";
  public static final String NO = "No";
  public static final String NONE = "None";
  /** RFC 7143 §6.2: reserved answers. */
  public static final String REJECT = "Reject";
  public static final String IRRELEVANT = "Irrelevant";
  public static final String NOT_UNDERSTOOD = "NotUnderstood";
  /** RFC 7143 §6.1: a single value is at most 255 bytes unless the key says otherwise. */
  public static final int MAX_VALUE_LENGTH = 255;

  private Values() {
  }

  /** True for the constants RFC 7143 §6.2 reserves for answers. */
  public static boolean isReservedAnswer(String value) {
    return REJECT.equals(value) || IRRELEVANT.equals(value) || NOT_UNDERSTOOD.equals(value);
  }

  /**
   * Parses a numerical value: decimal, or hexadecimal with a 0x prefix (RFC 7143 §6.1).
   * Returns -1 for anything else, including values above 2^63 - 1 that no key allows anyway.
   */
  public static long parseNumber(String s) {
    if (s == null || s.isEmpty() || s.length() > 20) return -1;
    int radix = 10;
    String digits = s;
    if (s.length() > 2 && s.charAt(0) == '0' && (s.charAt(1) == 'x' || s.charAt(1) == 'X')) {
      radix = 16;
      digits = s.substring(2);
    }
    for (int i = 0; i < digits.length(); i++) {
      if (Character.digit(digits.charAt(i), radix) < 0) return -1;
    }
    try {
      return Long.parseLong(digits, radix);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** Splits a comma-separated list value (RFC 7143 §6.1: list-of-values). */
  public static List<String> parseList(String s) {
    return new ArrayList<>(Arrays.asList(s.split(",", -1)));
  }

  /** True if {@code value} is a legal (offered or declared) value of {@code key}. */
  public static boolean valid(Key key, String value) {
    if (value == null) return false;
    switch (key.type) {
      case BOOLEAN:
        return YES.equals(value) || NO.equals(value);
      case NUMBER: {
        long n = parseNumber(value);
        // RFC 7145 §6.7: MaxOutstandingUnexpectedPDUs is 0 or 2..2^32-1.
        if (key == Key.MAX_OUTSTANDING_UNEXPECTED_PDUS && n == 1) return false;
        return n >= key.min && n <= key.max;
      }
      case RANGE: {
        int tilde = value.indexOf('~');
        if (tilde < 0) return false;
        long lo = parseNumber(value.substring(0, tilde));
        long hi = parseNumber(value.substring(tilde + 1));
        return lo >= key.min && hi <= key.max && lo <= hi;
      }
      case LIST:
        if (value.isEmpty()) return false;
        for (String v : parseList(value)) {
          if (v.isEmpty() || v.length() > MAX_VALUE_LENGTH) return false;
        }
        return true;
      case TEXT:
        return true;
      default:
        throw new AssertionError(key.type);
    }
  }

  /**
   * The responder's answer to a valid offer, given its own preference {@code local}
   * (for MIN its highest acceptable value, for MAX its lowest, for booleans its wish, for lists
   * the values it accepts). RFC 7143 §6.2.1 (lists) and §6.2.2 (simple values).
   */
  public static String select(Key key, String offered, String local) {
    switch (key.result) {
      case AND:
        return YES.equals(offered) && YES.equals(local) ? YES : NO;
      case OR:
        return YES.equals(offered) || YES.equals(local) ? YES : NO;
      case MIN:
        return Long.toString(Math.min(parseNumber(offered), parseNumber(local)));
      case MAX:
        return Long.toString(Math.max(parseNumber(offered), parseNumber(local)));
      case FIRST_ACCEPTABLE: {
        // RFC 7143 §6.2.1: the first offered value the responder supports; values it does not
        // understand are skipped; "None" only if offered; nothing acceptable -> Reject.
        List<String> accepted = parseList(local);
        for (String v : parseList(offered)) {
          if (accepted.contains(v)) return v;
        }
        return REJECT;
      }
      default:
        throw new IllegalArgumentException(key + " is not negotiated");
    }
  }

  /**
   * True if {@code answer} is a value the responder was allowed to choose for {@code offered}
   * (RFC 7143 §6.2: an offerer that receives anything else terminates the negotiation).
   * The reserved answers are checked by the caller.
   */
  public static boolean acceptable(Key key, String offered, String answer) {
    switch (key.result) {
      case AND:
        return YES.equals(answer) ? YES.equals(offered) : NO.equals(answer);
      case OR:
        return NO.equals(answer) ? NO.equals(offered) : YES.equals(answer);
      case MIN:
        return valid(key, answer) && parseNumber(answer) <= parseNumber(offered);
      case MAX:
        return valid(key, answer) && parseNumber(answer) >= parseNumber(offered);
      case FIRST_ACCEPTABLE:
        return !answer.contains(",") && parseList(offered).contains(answer);
      default:
        throw new IllegalArgumentException(key + " is not negotiated");
    }
  }

  static String bool(boolean b) {
    return b ? YES : NO;
  }
}
