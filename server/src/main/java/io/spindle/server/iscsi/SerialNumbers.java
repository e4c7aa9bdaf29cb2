package io.spindle.server.iscsi;

/** 32-bit serial number arithmetic (RFC 1982), as RFC 7143 §4.2.2.1 uses it for CmdSN and StatSN. */
final class SerialNumbers {

  private SerialNumbers() {
  }

  static boolean lessThan(int a, int b) {
    return a != b && (a - b) < 0;
  }

  static boolean lessOrEqual(int a, int b) {
    return a == b || (a - b) < 0;
  }

  /** True when {@code low <= sn <= high} in serial order. */
  static int compare(int a, int b) {
    return a == b ? 0 : ((a - b) < 0 ? -1 : 1);
  }

  static boolean inWindow(int sn, int low, int high) {
    return lessOrEqual(low, sn) && lessOrEqual(sn, high);
  }
}
