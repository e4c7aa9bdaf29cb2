package io.spindle.initiator;

import java.util.List;

/**
 * One target named by a SendTargets answer (RFC 7143 Appendix C): its name and the
 * {@code TargetAddress} values that followed it, each {@code host[:port],tpgt}.
 */
public record DiscoveredTarget(String name, List<String> addresses) {
  public DiscoveredTarget {
    addresses = List.copyOf(addresses);
  }
}
