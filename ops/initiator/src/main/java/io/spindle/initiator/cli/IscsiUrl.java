package io.spindle.initiator.cli;

import io.spindle.initiator.InitiatorOptions;
import java.net.URI;
import java.net.URISyntaxException;

/**
 * {@code iscsi://host[:port]/target[/lun]}, the form libiscsi and QEMU use (port 3260 by default,
 * the IANA port of RFC 7143 §14; LUN 0 when left out). {@code iser://} names the same over iSER
 * (RFC 7145) on the software iWARP RNIC; its default port is 3260 too (RFC 7145 uses iSCSI's port).
 *
 * @param transport {@code tcp} or {@code iser-iwarp} (see {@link InitiatorOptions#setTransport})
 * @param iserStyle {@code rfc7145} or {@code rfc5046} (see {@link InitiatorOptions#setIserStyle})
 */
public record IscsiUrl(String host, int port, String target, int lun, String transport, String iserStyle) {

  public static final int DEFAULT_PORT = 3260;

  public IscsiUrl(String host, int port, String target, int lun, String transport) {
    this(host, port, target, lun, transport, InitiatorOptions.DEFAULT_ISER_STYLE);
  }

  public IscsiUrl(String host, int port, String target, int lun) {
    this(host, port, target, lun, InitiatorOptions.TRANSPORT_TCP);
  }

  /** The same address over another transport. */
  public IscsiUrl withTransport(String transport) {
    return new IscsiUrl(host, port, target, lun, transport, iserStyle);
  }

  /** The same address with another iSER connection style. */
  public IscsiUrl withIserStyle(String style) {
    return new IscsiUrl(host, port, target, lun, transport, style);
  }

  public static IscsiUrl parse(String url) {
    URI u;
    try {
      u = new URI(url);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("not a URL: " + url);
    }
    boolean iser = "iser".equalsIgnoreCase(u.getScheme());
    if (!(iser || "iscsi".equalsIgnoreCase(u.getScheme())) || u.getHost() == null) {
      throw new IllegalArgumentException("expected iscsi://host[:port]/target/lun or iser://..., got " + url);
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
    return new IscsiUrl(u.getHost(), u.getPort() < 0 ? DEFAULT_PORT : u.getPort(), target, lun,
        iser ? InitiatorOptions.TRANSPORT_ISER_IWARP : InitiatorOptions.TRANSPORT_TCP);
  }
}
