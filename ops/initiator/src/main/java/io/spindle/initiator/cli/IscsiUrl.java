package io.spindle.initiator.cli;

import java.net.URI;
import java.net.URISyntaxException;

/**
 * {@code iscsi://host[:port]/target[/lun]}, the form libiscsi and QEMU use (port 3260 by default,
 * the IANA port of RFC 7143 §14; LUN 0 when left out).
 */
public record IscsiUrl(String host, int port, String target, int lun) {

  public static final int DEFAULT_PORT = 3260;

  public static IscsiUrl parse(String url) {
    URI u;
    try {
      u = new URI(url);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("not a URL: " + url);
    }
    if (!"iscsi".equalsIgnoreCase(u.getScheme()) || u.getHost() == null) {
      throw new IllegalArgumentException("expected iscsi://host[:port]/target/lun, got " + url);
    }
    String path = u.getPath() == null ? "" : u.getPath();
    if (path.startsWith("/")) path = path.substring(1);
    String target = null;
    int lun = 0;
    if (!path.isEmpty()) {
      int slash = path.lastIndexOf('/');
      if (slash >= 0 && path.substring(slash + 1).matches("\\d+")) {
        lun = Integer.parseInt(path.substring(slash + 1));
        target = path.substring(0, slash);
      } else {
        target = path;
      }
      if (target.isEmpty()) target = null;
    }
    return new IscsiUrl(u.getHost(), u.getPort() < 0 ? DEFAULT_PORT : u.getPort(), target, lun);
  }
}
