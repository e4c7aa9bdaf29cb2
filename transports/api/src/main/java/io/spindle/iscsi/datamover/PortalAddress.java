package io.spindle.iscsi.datamover;

/**
 * A portal's network address (RFC 7143 §4.4.1 network portal).
 *
 * @param host IP address or host name; {@code 0.0.0.0} / {@code ::} for all
 * @param port TCP port, 0 for any free port
 */
public record PortalAddress(String host, int port) {

  public PortalAddress {
    if (port < 0 || port > 65535) throw new IllegalArgumentException("port " + port + " is outside 0..65535");
  }

  /** Parses {@code HOST:PORT}, {@code [V6]:PORT} or {@code HOST} (port 3260). */
  public static PortalAddress parse(String text) {
    String s = text.trim();
    String host;
    String port = null;
    if (s.startsWith("[")) {
      int close = s.indexOf(']');
      if (close < 0) throw new IllegalArgumentException("\"" + text + "\" has no closing ']'");
      host = s.substring(1, close);
      if (close + 1 < s.length()) {
        if (s.charAt(close + 1) != ':') throw new IllegalArgumentException("\"" + text + "\" is not [ADDRESS]:PORT");
        port = s.substring(close + 2);
      }
    } else {
      int colon = s.lastIndexOf(':');
      if (colon >= 0 && s.indexOf(':') == colon) {
        host = s.substring(0, colon);
        port = s.substring(colon + 1);
      } else {
        host = s;
      }
    }
    if (host.isEmpty()) throw new IllegalArgumentException("\"" + text + "\" has no host");
    int p = 3260;
    if (port != null) {
      try {
        p = Integer.parseInt(port);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("\"" + text + "\": port \"" + port + "\" is not a number");
      }
    }
    return new PortalAddress(host, p);
  }

  /** As iSCSI's TargetAddress wants it: {@code host:port}, IPv6 in brackets (RFC 7143 §13.8). */
  @Override
  public String toString() {
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
  }
}
