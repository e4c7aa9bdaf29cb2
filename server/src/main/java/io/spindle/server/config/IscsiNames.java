package io.spindle.server.config;

import java.util.regex.Pattern;

/** iSCSI name rules, RFC 7143 §4.2.7: iqn., eui. and naa. formats, at most 223 bytes. */
public final class IscsiNames {

  private static final Pattern IQN = Pattern.compile("iqn\\.\\d{4}-\\d{2}\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[a-z0-9.:-]*)?");
  private static final Pattern EUI = Pattern.compile("eui\\.[0-9a-f]{16}");
  private static final Pattern NAA = Pattern.compile("naa\\.([0-9a-f]{16}|[0-9a-f]{32})");

  private IscsiNames() {
  }

  /** @return null when {@code name} is a valid iSCSI name, else what is wrong with it */
  public static String problem(String name) {
    if (name == null || name.isEmpty()) return "is empty";
    if (name.length() > 223) return "is longer than 223 bytes";
    if (!name.equals(name.toLowerCase(java.util.Locale.ROOT))) return "must be lower case (RFC 7143 §4.2.7.1)";
    if (IQN.matcher(name).matches() || EUI.matcher(name).matches() || NAA.matcher(name).matches()) return null;
    return "is not an iqn., eui. or naa. name (RFC 7143 §4.2.7)";
  }
}
