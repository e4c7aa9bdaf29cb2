package io.spindle.initiator.impl;

/** RFC 1982 serial number arithmetic on 32-bit sequence numbers (RFC 7143 §4.2.2.1). */
final class Sn {

  private Sn() {
  }

  static boolean lt(int a, int b) {
    return a != b && a - b < 0;
  }

  static boolean gt(int a, int b) {
    return a != b && a - b > 0;
  }

  static boolean lte(int a, int b) {
    return a == b || lt(a, b);
  }

  /** Serial order, for sorted sets of sequence numbers near each other. */
  static int compare(Integer a, Integer b) {
    return Integer.compare(a - b, 0);
  }
}
