package io.spindle.initiator.impl;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The portals one session may connect to (RFC 7143 §3.4.1: network portals of the target's
 * portal group), in order of preference, and which of them are known to have failed. The ones
 * the user gave come first, in their order, then those the target reported in its last
 * SendTargets answer (RFC 7143 §12.3, Appendix C) that the user did not give; a portal the
 * target no longer reports (its node left) drops out unless the user gave it.
 *
 * <p>Selection after a failure: the first portal after the failed one, in order, that has not
 * failed since it last worked; when every portal has, the one whose failure is oldest. So a
 * session moves on from a dead node at once and comes back to it only when nothing else is left.
 * Used on the session's context only.
 */
final class Portals {

  /** A network portal: host (name or address) and TCP port. */
  record Portal(String host, int port) {

    static final int DEFAULT_PORT = 3260;

    /**
     * {@code host}, {@code host:port}, {@code [v6]:port}, or a SendTargets TargetAddress
     * {@code host:port,tpgt} (RFC 7143 §13.9: the portal group tag is ignored here).
     */
    static Portal parse(String s) {
      String v = s.trim();
      int comma = v.lastIndexOf(',');
      if (comma >= 0 && v.lastIndexOf(']') < comma) v = v.substring(0, comma);
      String host;
      String port = null;
      if (v.startsWith("[")) {
        int close = v.indexOf(']');
        if (close < 0) throw new IllegalArgumentException("bad portal " + s);
        host = v.substring(1, close);
        if (close + 1 < v.length()) {
          if (v.charAt(close + 1) != ':') throw new IllegalArgumentException("bad portal " + s);
          port = v.substring(close + 2);
        }
      } else {
        int colon = v.lastIndexOf(':');
        if (colon >= 0 && v.indexOf(':') == colon) {
          host = v.substring(0, colon);
          port = v.substring(colon + 1);
        } else {
          host = v;
        }
      }
      if (host.isEmpty()) throw new IllegalArgumentException("bad portal " + s + ": no host");
      int p;
      try {
        p = port == null ? DEFAULT_PORT : Integer.parseInt(port);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("bad portal " + s + ": port " + port);
      }
      if (p < 1 || p > 65535) throw new IllegalArgumentException("bad portal " + s + ": port " + p);
      return new Portal(host, p);
    }

    /** The portal group tag of a TargetAddress value ({@code host:port,tpgt}), or -1 without one. */
    static int groupTag(String targetAddress) {
      int comma = targetAddress.lastIndexOf(',');
      if (comma < 0 || targetAddress.lastIndexOf(']') > comma) return -1;
      try {
        return Integer.parseInt(targetAddress.substring(comma + 1).trim());
      } catch (NumberFormatException e) {
        return -1;
      }
    }

    @Override
    public String toString() {
      return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
  }

  private final List<Portal> configured;
  private List<Portal> discovered = List.of();
  private List<Portal> order;
  /** System.nanoTime of each portal's last failure, removed when a login there succeeds. */
  private final Map<Portal, Long> failedAt = new HashMap<>();

  Portals(List<Portal> configured) {
    if (configured.isEmpty()) throw new IllegalArgumentException("no portal");
    this.configured = List.copyOf(new LinkedHashSet<>(configured));
    this.order = this.configured;
  }

  /** Every portal, in order of preference. */
  List<Portal> all() {
    return order;
  }

  Portal first() {
    return order.get(0);
  }

  /** A login on {@code p} succeeded: it is good again. */
  void succeeded(Portal p) {
    failedAt.remove(p);
  }

  /** A connection to {@code p} was lost, or a login there failed. */
  void failed(Portal p, long nanoTime) {
    failedAt.put(p, nanoTime);
  }

  boolean hasFailed(Portal p) {
    return failedAt.containsKey(p);
  }

  /**
   * The portal to try after {@code from}: the first one after it (in order, wrapping) that has
   * not failed, else the one that failed longest ago ({@code from} itself when it is the only one).
   */
  Portal next(Portal from) {
    int n = order.size();
    int start = order.indexOf(from); // -1 (a portal no longer listed) starts from the first
    Portal oldest = null;
    for (int i = 1; i <= n; i++) {
      Portal p = order.get(Math.floorMod(start + i, n));
      Long t = failedAt.get(p);
      if (t == null) return p;
      if (oldest == null || t - failedAt.get(oldest) < 0) oldest = p;
    }
    return oldest;
  }

  /**
   * The target's answer to SendTargets: its portals now. Returns true when the list changed.
   */
  boolean discovered(List<Portal> reported) {
    List<Portal> d = new ArrayList<>();
    Set<Portal> given = Set.copyOf(configured);
    for (Portal p : new LinkedHashSet<>(reported)) if (!given.contains(p)) d.add(p);
    if (d.equals(discovered)) return false;
    discovered = List.copyOf(d);
    List<Portal> all = new ArrayList<>(configured);
    all.addAll(discovered);
    order = List.copyOf(all);
    failedAt.keySet().retainAll(order);
    return true;
  }

  @Override
  public String toString() {
    return order.toString();
  }
}
