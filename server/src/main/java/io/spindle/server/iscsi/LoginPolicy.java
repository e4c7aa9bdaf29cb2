package io.spindle.server.iscsi;

import io.spindle.iscsi.auth.ChapAlgorithm;
import io.spindle.iscsi.auth.ChapIdentity;
import io.spindle.scsi.ScsiTarget;
import io.spindle.server.config.AclEntry;
import io.spindle.server.config.ChapCredential;
import io.spindle.server.config.DiscoveryConfig;
import io.spindle.server.config.LoginLimits;
import io.spindle.server.config.ServerConfig;
import io.spindle.server.config.TargetConfig;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Who may log in to what, and how (RFC 7143 §9, §12.1): per-target ACLs with each initiator's CHAP
 * credentials and LUN view, discovery authentication, and the bounds on logins in progress. Immutable;
 * a reload replaces the whole policy, and a login keeps the one it started with.
 */
public final class LoginPolicy {

  /** Makes the SCSI target an ACL entry sees: {@code luns} maps its LUN numbers to the target's. */
  @FunctionalInterface
  public interface ViewFactory {
    ScsiTarget view(String targetName, Map<Integer, Integer> luns);
  }

  /**
   * What a login to one target by one initiator must do.
   *
   * @param chap       the initiator's CHAP identity, or null when the target admits it by name alone
   * @param mutual     the target's identity for mutual CHAP, or null
   * @param algorithms CHAP algorithms allowed, in preference order
   * @param target     the target the session addresses: the configured one, or the entry's LUN view
   */
  record Admission(ChapIdentity chap, ChapIdentity mutual, List<ChapAlgorithm> algorithms, IscsiTarget target) {
  }

  private final Map<String, TargetConfig> targets;
  private final Map<String, IscsiTarget> views;
  private final Map<IscsiTarget, IscsiTarget> viewBases;
  private final DiscoveryConfig discovery;
  private final LoginLimits limits;
  /** Whether a target the policy has no configuration for is open (embedding) or refused (config file). */
  private final boolean openByDefault;

  private LoginPolicy(Map<String, TargetConfig> targets, Map<String, IscsiTarget> views,
      Map<IscsiTarget, IscsiTarget> viewBases, DiscoveryConfig discovery, LoginLimits limits, boolean openByDefault) {
    this.openByDefault = openByDefault;
    this.targets = Map.copyOf(targets);
    this.views = Map.copyOf(views);
    this.viewBases = Map.copyOf(viewBases);
    this.discovery = discovery;
    this.limits = limits;
  }

  /** Every target open to every initiator, open discovery, default limits (an embedding without a config). */
  public static LoginPolicy open() {
    return new LoginPolicy(Map.of(), Map.of(), Map.of(), DiscoveryConfig.open(), LoginLimits.defaults(), true);
  }

  /**
   * The policy of {@code config} for the {@code targets} serving it; {@code views} builds the SCSI target
   * of each ACL entry that maps LUNs.
   */
  public static LoginPolicy of(ServerConfig config, Map<String, IscsiTarget> targets, ViewFactory views) {
    Map<String, TargetConfig> byName = new HashMap<>();
    Map<String, IscsiTarget> entryViews = new HashMap<>();
    Map<IscsiTarget, IscsiTarget> bases = new HashMap<>();
    for (TargetConfig t : config.targets()) {
      byName.put(t.name(), t);
      IscsiTarget base = targets.get(t.name());
      if (t.acl() == null || base == null) continue;
      for (AclEntry e : t.acl()) {
        if (e.luns() == null) continue;
        IscsiTarget view = new IscsiTarget(t.name(), t.alias(), views.view(t.name(), e.luns()));
        entryViews.put(key(t.name(), e.initiator()), view);
        bases.put(view, base);
      }
    }
    return new LoginPolicy(byName, entryViews, bases, config.discovery(), config.login(), false);
  }

  private static String key(String target, String initiator) {
    return target + '\0' + initiator;
  }

  LoginLimits limits() {
    return limits;
  }

  /** CHAP for a discovery session, or null when discovery is open. */
  Admission discovery() {
    if (discovery.chap() == null) return null;
    return new Admission(discovery.chap().identity(), identity(discovery.mutualChap()), discovery.chapAlgorithms(),
        null);
  }

  /**
   * The admission of {@code initiator} to {@code target}, or null when the target's ACL does not list it.
   * A target this policy has no configuration for is open under {@link #open()}, refused otherwise
   * (during a reload, a target the new configuration no longer has).
   */
  Admission admit(IscsiTarget target, String initiator) {
    TargetConfig t = targets.get(target.name());
    if (t == null && !openByDefault) return null;
    if (t == null || t.acl() == null) return new Admission(null, null, List.of(), target);
    AclEntry e = t.aclEntry(initiator);
    if (e == null) return null;
    IscsiTarget view = views.getOrDefault(key(target.name(), initiator), target);
    return new Admission(identity(e.chap()), identity(e.mutualChap()), t.chapAlgorithms(), view);
  }

  /** True if {@code initiator} may log in to the target of this name (what SendTargets may show it). */
  boolean visible(String targetName, String initiator) {
    TargetConfig t = targets.get(targetName);
    if (t == null) return openByDefault;
    return t.acl() == null || t.aclEntry(initiator) != null;
  }

  /** True if some target's ACL lists {@code initiator} by name (it may use the reserved login slots). */
  boolean namedInAcl(String initiator) {
    for (TargetConfig t : targets.values()) {
      if (t.acl() != null && t.aclEntry(initiator) != null) return true;
    }
    return false;
  }

  /** Each ACL entry's LUN view and the target it was made from. */
  Map<IscsiTarget, IscsiTarget> viewBases() {
    return viewBases;
  }

  private static ChapIdentity identity(ChapCredential c) {
    return c == null ? null : c.identity();
  }
}
