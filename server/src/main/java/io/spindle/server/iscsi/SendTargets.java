package io.spindle.server.iscsi;

import io.spindle.iscsi.text.TextKeys.Pair;
import io.spindle.server.config.PortalConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/** SendTargets (RFC 7143 §12.3): the TargetName and TargetAddress keys a Text Response lists. */
final class SendTargets {

  private SendTargets() {
  }

  /**
   * All targets on discovery sessions, the session's own target otherwise; wildcard portal addresses
   * become {@code localHost}, the address the initiator reached.
   */
  static void answer(IscsiService service, IscsiSession session, String localHost, String value, List<Pair> out) {
    List<IscsiTarget> list = new ArrayList<>();
    if (value.equals("All") && session.type == IscsiSession.Type.DISCOVERY) {
      list.addAll(new TreeMap<>(service.targets()).values());
    } else if (value.isEmpty() || value.equals("All")) {
      if (session.target != null) list.add(session.target);
    } else {
      IscsiTarget t = service.target(value);
      if (t != null && (session.target == null || session.target == t)) list.add(t);
    }
    // Issue 5: an initiator is shown only the targets whose ACL admits it.
    list.removeIf(t -> !service.visible(t, session.initiatorName));
    for (IscsiTarget t : list) {
      out.add(new Pair("TargetName", t.name()));
      for (PortalConfig p : service.portals()) {
        String host = p.address().host();
        if (host.equals("0.0.0.0") || host.equals("::")) host = localHost;
        String addr = (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + p.address().port();
        out.add(new Pair("TargetAddress", addr + "," + p.portalGroupTag()));
      }
    }
  }
}
