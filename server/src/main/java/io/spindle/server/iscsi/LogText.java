package io.spindle.server.iscsi;

/** Peer-supplied text as the log may show it. */
final class LogText {

  private LogText() {
  }

  /** Bounded to 256 characters, control characters replaced: a name cannot forge log lines. */
  static String printable(String s) {
    if (s == null) return null;
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length() && i < 256; i++) {
      char ch = s.charAt(i);
      b.append(ch >= 0x20 && ch != 0x7f ? ch : '?');
    }
    return s.length() > 256 ? b.append("...").toString() : b.toString();
  }
}
