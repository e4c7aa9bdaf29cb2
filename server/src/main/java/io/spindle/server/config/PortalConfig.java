package io.spindle.server.config;

import io.spindle.iscsi.datamover.PortalAddress;
import io.vertx.core.json.JsonObject;

/**
 * A network portal: where initiators connect, over which transport, in which portal group.
 *
 * @param address host and port to listen on
 * @param transport transport name ({@code tcp})
 * @param portalGroupTag the target portal group tag (RFC 7143 §13.9) reported for this portal
 * @param options the whole portal entry, for transport-specific options
 */
public record PortalConfig(PortalAddress address, String transport, int portalGroupTag, JsonObject options) {

  public static final String DEFAULT_TRANSPORT = "tcp";
  public static final int DEFAULT_PORTAL_GROUP_TAG = 1;

  public static PortalConfig fromJson(JsonObject j, String where) {
    Object addr = j.getValue("address");
    if (!(addr instanceof String s)) throw new ConfigException(where + ".address: required, as \"HOST:PORT\"");
    PortalAddress address;
    try {
      address = PortalAddress.parse(s);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(where + ".address: " + e.getMessage());
    }
    String transport = j.getString("transport", DEFAULT_TRANSPORT);
    int tpgt = NegotiationOptions.range(j, where, "portalGroupTag", DEFAULT_PORTAL_GROUP_TAG, 0, 65535);
    return new PortalConfig(address, transport, tpgt, j.copy());
  }

  public JsonObject toJson() {
    return options.copy().put("address", address.toString()).put("transport", transport)
        .put("portalGroupTag", portalGroupTag);
  }
}
