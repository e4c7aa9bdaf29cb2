package io.spindle.initiator;

import io.spindle.iscsi.auth.ChapAlgorithm;
import io.spindle.iscsi.auth.ChapAuthenticator;
import io.spindle.iscsi.auth.ChapIdentity;
import io.spindle.iscsi.text.TextKeys;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What the initiator says about itself and offers at login (RFC 7143 §13). Mutable and fluent;
 * copy it before changing it while an {@link IscsiInitiator} uses it.
 *
 * <p>The operational values are <em>offers</em>: what a session ends up with is in
 * {@link Session#parameters()} after the target has answered.
 */
public final class InitiatorOptions {

  public static final String DEFAULT_INITIATOR_NAME = "iqn.2026-11.io.spindle:initiator";
  /**
   * RFC 7143 §11.12.5: T=10b (random format), B and C fixed to "SPN"; the qualifier (low 16 bits)
   * is replaced per login by a counter so sessions of one initiator do not reinstate each other.
   */
  public static final long DEFAULT_ISID = 0x80_5350_4e_0000L;
  public static final String DEFAULT_HEADER_DIGEST = "None";
  public static final String DEFAULT_DATA_DIGEST = "None";
  public static final int DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH = 262_144;
  public static final boolean DEFAULT_IMMEDIATE_DATA = true;
  /** Offer InitialR2T=No so that unsolicited Data-Out is exercised unless the target insists. */
  public static final boolean DEFAULT_INITIAL_R2T = false;
  public static final int DEFAULT_FIRST_BURST_LENGTH = 65_536;
  public static final int DEFAULT_MAX_BURST_LENGTH = 262_144;
  public static final int DEFAULT_MAX_OUTSTANDING_R2T = 1;
  public static final int DEFAULT_ERROR_RECOVERY_LEVEL = 0;
  public static final boolean DEFAULT_SECURITY_NEGOTIATION = true;
  public static final long DEFAULT_LOGIN_TIMEOUT_MILLIS = 10_000;
  public static final long DEFAULT_COMMAND_TIMEOUT_MILLIS = 30_000;
  /** Connections per session offered as MaxConnections and opened after the leading login (RFC 7143 §13.2). */
  public static final int DEFAULT_MAX_CONNECTIONS = 1;
  /** RFC 7143 §13.15 default: seconds to wait before logout or task reassignment after a connection loss. */
  public static final int DEFAULT_TIME2WAIT = 2;
  /** RFC 7143 §13.16 default: seconds after Time2Wait for which the target keeps the failed connection's tasks. */
  public static final int DEFAULT_TIME2RETAIN = 20;
  /**
   * False: a lost session fails its commands. True: a session that cannot recover a connection
   * (ERL 0 and 1, or ERL 2 after Time2Retain) logs in again with the same ISID and re-issues
   * every command still in flight, as Linux open-iscsi does at ERL 0.
   */
  public static final boolean DEFAULT_SESSION_RECOVERY = false;
  /** No liveness watch: a connection is lost only when its socket closes or a request times out. */
  public static final long DEFAULT_LIVENESS_TIMEOUT_MILLIS = 0;
  /** The session does not ask the target for its portals. */
  public static final boolean DEFAULT_PORTAL_DISCOVERY = false;

  private String initiatorName = DEFAULT_INITIATOR_NAME;
  private long isid = DEFAULT_ISID;
  private String headerDigest = DEFAULT_HEADER_DIGEST;
  private String dataDigest = DEFAULT_DATA_DIGEST;
  private int maxRecvDataSegmentLength = DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH;
  private boolean immediateData = DEFAULT_IMMEDIATE_DATA;
  private boolean initialR2t = DEFAULT_INITIAL_R2T;
  private int firstBurstLength = DEFAULT_FIRST_BURST_LENGTH;
  private int maxBurstLength = DEFAULT_MAX_BURST_LENGTH;
  private int maxOutstandingR2t = DEFAULT_MAX_OUTSTANDING_R2T;
  private int errorRecoveryLevel = DEFAULT_ERROR_RECOVERY_LEVEL;
  private boolean securityNegotiation = DEFAULT_SECURITY_NEGOTIATION;
  private long loginTimeoutMillis = DEFAULT_LOGIN_TIMEOUT_MILLIS;
  private long commandTimeoutMillis = DEFAULT_COMMAND_TIMEOUT_MILLIS;
  private int maxConnections = DEFAULT_MAX_CONNECTIONS;
  private int defaultTime2Wait = DEFAULT_TIME2WAIT;
  private int defaultTime2Retain = DEFAULT_TIME2RETAIN;
  private boolean sessionRecovery = DEFAULT_SESSION_RECOVERY;
  private final List<String> portals = new ArrayList<>();
  private long livenessTimeoutMillis = DEFAULT_LIVENESS_TIMEOUT_MILLIS;
  private boolean portalDiscovery = DEFAULT_PORTAL_DISCOVERY;
  private FaultInjector faultInjector = FaultInjector.NONE;
  private final List<TextKeys.Pair> extraKeys = new ArrayList<>();
  private ChapIdentity chap;
  private ChapIdentity targetChap;
  private List<ChapAlgorithm> chapAlgorithms = ChapAuthenticator.DEFAULT_ALGORITHMS;
  private String transport = DEFAULT_TRANSPORT;
  private String iserStyle = DEFAULT_ISER_STYLE;
  private int iserHelloMaxVersion = ISER_VERSION_RFC5046;
  private int iserHelloMinVersion = ISER_VERSION_RFC5046;
  private boolean iserHello = true;

  /** iSCSI over TCP. */
  public static final String TRANSPORT_TCP = "tcp";
  /** iSER (RFC 7145) over the software iWARP RNIC. */
  public static final String TRANSPORT_ISER_IWARP = "iser-iwarp";
  public static final String DEFAULT_TRANSPORT = TRANSPORT_TCP;
  /**
   * iSER connection style of RFC 7145 and Linux: the RDMA connection first (MPA with the iSER CM
   * private data), then login in iSER-assisted mode, as Sends.
   */
  public static final String ISER_STYLE_RFC7145 = "rfc7145";
  /**
   * iSER connection style of RFC 5046 §5: plain TCP, login in byte-stream mode offering
   * RDMAExtensions=Yes, then MPA on the same connection, the iSER Hello / HelloReply exchange, and
   * full feature phase with RFC 5046's 12-byte iSER header (zero-based STags).
   */
  public static final String ISER_STYLE_RFC5046 = "rfc5046";
  public static final String DEFAULT_ISER_STYLE = ISER_STYLE_RFC7145;
  /** The iSER version RFC 5046 §9.3 defines, which the RFC 5046 style's Hello announces. */
  public static final int ISER_VERSION_RFC5046 = 1;

  public InitiatorOptions() {
  }

  public InitiatorOptions(InitiatorOptions other) {
    initiatorName = other.initiatorName;
    isid = other.isid;
    headerDigest = other.headerDigest;
    dataDigest = other.dataDigest;
    maxRecvDataSegmentLength = other.maxRecvDataSegmentLength;
    immediateData = other.immediateData;
    initialR2t = other.initialR2t;
    firstBurstLength = other.firstBurstLength;
    maxBurstLength = other.maxBurstLength;
    maxOutstandingR2t = other.maxOutstandingR2t;
    errorRecoveryLevel = other.errorRecoveryLevel;
    securityNegotiation = other.securityNegotiation;
    loginTimeoutMillis = other.loginTimeoutMillis;
    commandTimeoutMillis = other.commandTimeoutMillis;
    maxConnections = other.maxConnections;
    defaultTime2Wait = other.defaultTime2Wait;
    defaultTime2Retain = other.defaultTime2Retain;
    sessionRecovery = other.sessionRecovery;
    portals.addAll(other.portals);
    livenessTimeoutMillis = other.livenessTimeoutMillis;
    portalDiscovery = other.portalDiscovery;
    faultInjector = other.faultInjector;
    extraKeys.addAll(other.extraKeys);
    chap = other.chap;
    targetChap = other.targetChap;
    chapAlgorithms = other.chapAlgorithms;
    transport = other.transport;
    iserStyle = other.iserStyle;
    iserHelloMaxVersion = other.iserHelloMaxVersion;
    iserHelloMinVersion = other.iserHelloMinVersion;
    iserHello = other.iserHello;
  }

  /** {@value #TRANSPORT_TCP} or {@value #TRANSPORT_ISER_IWARP}. */
  public String getTransport() {
    return transport;
  }

  /**
   * The datamover: {@value #TRANSPORT_TCP}, or {@value #TRANSPORT_ISER_IWARP} for iSER over the
   * software iWARP RNIC. With iSER the login asks for RDMAExtensions=Yes, digests are off, and the
   * initiator sends no unsolicited Data-Out PDUs (InitialR2T=Yes): the target reads the data.
   */
  public InitiatorOptions setTransport(String transport) {
    if (!TRANSPORT_TCP.equals(transport) && !TRANSPORT_ISER_IWARP.equals(transport)) {
      throw new IllegalArgumentException("transport \"" + transport + "\" is not " + TRANSPORT_TCP + " or "
          + TRANSPORT_ISER_IWARP);
    }
    this.transport = transport;
    return this;
  }

  public boolean isIser() {
    return TRANSPORT_ISER_IWARP.equals(transport);
  }

  /** {@value #ISER_STYLE_RFC7145} (default) or {@value #ISER_STYLE_RFC5046}. */
  public String getIserStyle() {
    return iserStyle;
  }

  /**
   * How an iSER connection is set up: {@value #ISER_STYLE_RFC7145} (RDMA first, login as Sends, as
   * Linux does) or {@value #ISER_STYLE_RFC5046} (login over plain TCP, then MPA and Hello on the
   * same connection). Both need an {@code iser-iwarp} portal; ignored for iSCSI/TCP.
   */
  public InitiatorOptions setIserStyle(String style) {
    if (!ISER_STYLE_RFC7145.equals(style) && !ISER_STYLE_RFC5046.equals(style)) {
      throw new IllegalArgumentException("iSER style \"" + style + "\" is not " + ISER_STYLE_RFC7145 + " or "
          + ISER_STYLE_RFC5046);
    }
    this.iserStyle = style;
    return this;
  }

  /** iSER in the RFC 5046 connection style. */
  public boolean isIserRfc5046() {
    return isIser() && ISER_STYLE_RFC5046.equals(iserStyle);
  }

  public int getIserHelloMaxVersion() {
    return iserHelloMaxVersion;
  }

  public int getIserHelloMinVersion() {
    return iserHelloMinVersion;
  }

  /**
   * The iSER versions the RFC 5046 style's Hello announces (RFC 5046 §9.3, 4 bits each); default
   * {@value #ISER_VERSION_RFC5046}..{@value #ISER_VERSION_RFC5046}. Other values are for tests of
   * the target's HelloReply with the reject flag.
   */
  public InitiatorOptions setIserHelloVersions(int maxVersion, int minVersion) {
    if (maxVersion < 0 || maxVersion > 15 || minVersion < 0 || minVersion > 15) {
      throw new IllegalArgumentException("iSER versions are 4-bit values: " + maxVersion + ", " + minVersion);
    }
    this.iserHelloMaxVersion = maxVersion;
    this.iserHelloMinVersion = minVersion;
    return this;
  }

  public boolean isIserHello() {
    return iserHello;
  }

  /**
   * For tests of a broken initiator: false makes the RFC 5046 style skip the Hello, so its first
   * iSER message is a command, which RFC 5046 §10.1.3 makes a protocol error. Default true.
   */
  public InitiatorOptions setIserHello(boolean send) {
    this.iserHello = send;
    return this;
  }

  public String getInitiatorName() {
    return initiatorName;
  }

  public InitiatorOptions setInitiatorName(String initiatorName) {
    this.initiatorName = Objects.requireNonNull(initiatorName);
    return this;
  }

  /** The 48-bit ISID; its low 16 bits (the qualifier) are replaced per login. */
  public long getIsid() {
    return isid;
  }

  public InitiatorOptions setIsid(long isid) {
    if ((isid >>> 48) != 0) throw new IllegalArgumentException("ISID is 48 bits");
    this.isid = isid;
    return this;
  }

  /** The HeaderDigest offer, a list in preference order such as {@code "CRC32C,None"}. */
  public String getHeaderDigest() {
    return headerDigest;
  }

  public InitiatorOptions setHeaderDigest(String headerDigest) {
    this.headerDigest = Objects.requireNonNull(headerDigest);
    return this;
  }

  public String getDataDigest() {
    return dataDigest;
  }

  public InitiatorOptions setDataDigest(String dataDigest) {
    this.dataDigest = Objects.requireNonNull(dataDigest);
    return this;
  }

  /** The MaxRecvDataSegmentLength this initiator declares: the largest data segment it accepts. */
  public int getMaxRecvDataSegmentLength() {
    return maxRecvDataSegmentLength;
  }

  public InitiatorOptions setMaxRecvDataSegmentLength(int v) {
    this.maxRecvDataSegmentLength = range("MaxRecvDataSegmentLength", v, 512, (1 << 24) - 1);
    return this;
  }

  public boolean isImmediateData() {
    return immediateData;
  }

  public InitiatorOptions setImmediateData(boolean immediateData) {
    this.immediateData = immediateData;
    return this;
  }

  public boolean isInitialR2t() {
    return initialR2t;
  }

  public InitiatorOptions setInitialR2t(boolean initialR2t) {
    this.initialR2t = initialR2t;
    return this;
  }

  public int getFirstBurstLength() {
    return firstBurstLength;
  }

  public InitiatorOptions setFirstBurstLength(int v) {
    this.firstBurstLength = range("FirstBurstLength", v, 512, (1 << 24) - 1);
    return this;
  }

  public int getMaxBurstLength() {
    return maxBurstLength;
  }

  public InitiatorOptions setMaxBurstLength(int v) {
    this.maxBurstLength = range("MaxBurstLength", v, 512, (1 << 24) - 1);
    return this;
  }

  public int getMaxOutstandingR2t() {
    return maxOutstandingR2t;
  }

  public InitiatorOptions setMaxOutstandingR2t(int v) {
    this.maxOutstandingR2t = range("MaxOutstandingR2T", v, 1, 65535);
    return this;
  }

  public int getErrorRecoveryLevel() {
    return errorRecoveryLevel;
  }

  public InitiatorOptions setErrorRecoveryLevel(int v) {
    this.errorRecoveryLevel = range("ErrorRecoveryLevel", v, 0, 2);
    return this;
  }

  /** True: start login in the security stage offering AuthMethod=None; false: start in the operational stage. */
  public boolean isSecurityNegotiation() {
    return securityNegotiation;
  }

  public InitiatorOptions setSecurityNegotiation(boolean securityNegotiation) {
    this.securityNegotiation = securityNegotiation;
    return this;
  }

  /** The initiator's CHAP name and secret (RFC 7143 §12.1.3), or null for AuthMethod=None. */
  public ChapIdentity getChap() {
    return chap;
  }

  /**
   * Authenticate with CHAP: only AuthMethod=CHAP is then offered, so a target cannot talk the
   * initiator down to no authentication. Requires {@link #isSecurityNegotiation()}.
   */
  public InitiatorOptions setChap(ChapIdentity chap) {
    this.chap = chap;
    return this;
  }

  /** The name and secret the target must prove (mutual CHAP), or null for one-way CHAP. */
  public ChapIdentity getTargetChap() {
    return targetChap;
  }

  public InitiatorOptions setTargetChap(ChapIdentity targetChap) {
    this.targetChap = targetChap;
    return this;
  }

  /** CHAP_A offer, in order of preference; by default SHA3-256, SHA-256, SHA-1, MD5. */
  public List<ChapAlgorithm> getChapAlgorithms() {
    return chapAlgorithms;
  }

  public InitiatorOptions setChapAlgorithms(List<ChapAlgorithm> algorithms) {
    if (algorithms.isEmpty()) throw new IllegalArgumentException("at least one CHAP algorithm");
    this.chapAlgorithms = List.copyOf(algorithms);
    return this;
  }

  /** Bound on connect plus the whole login; the connection is closed when it passes. */
  public long getLoginTimeoutMillis() {
    return loginTimeoutMillis;
  }

  public InitiatorOptions setLoginTimeoutMillis(long v) {
    if (v <= 0) throw new IllegalArgumentException("login timeout must be positive");
    this.loginTimeoutMillis = v;
    return this;
  }

  /** Bound on every command, NOP, TMF, Text and Logout exchange of a session. */
  public long getCommandTimeoutMillis() {
    return commandTimeoutMillis;
  }

  public InitiatorOptions setCommandTimeoutMillis(long v) {
    if (v <= 0) throw new IllegalArgumentException("command timeout must be positive");
    this.commandTimeoutMillis = v;
    return this;
  }

  /** MaxConnections offered; a session opens this many connections when the target agrees (RFC 7143 §13.2). */
  public int getMaxConnections() {
    return maxConnections;
  }

  public InitiatorOptions setMaxConnections(int v) {
    this.maxConnections = range("MaxConnections", v, 1, 65535);
    return this;
  }

  /** DefaultTime2Wait offered (the larger of both sides wins, RFC 7143 §13.15). */
  public int getDefaultTime2Wait() {
    return defaultTime2Wait;
  }

  public InitiatorOptions setDefaultTime2Wait(int v) {
    this.defaultTime2Wait = range("DefaultTime2Wait", v, 0, 3600);
    return this;
  }

  /** DefaultTime2Retain offered (the smaller of both sides wins, RFC 7143 §13.16). */
  public int getDefaultTime2Retain() {
    return defaultTime2Retain;
  }

  public InitiatorOptions setDefaultTime2Retain(int v) {
    this.defaultTime2Retain = range("DefaultTime2Retain", v, 0, 3600);
    return this;
  }

  /** See {@link #DEFAULT_SESSION_RECOVERY}. */
  public boolean isSessionRecovery() {
    return sessionRecovery;
  }

  public InitiatorOptions setSessionRecovery(boolean sessionRecovery) {
    this.sessionRecovery = sessionRecovery;
    return this;
  }

  /**
   * Further portals of the target ({@code host:port}, {@code [v6]:port}), in order of preference,
   * after the one a login names: a session whose connections are all lost continues on the next
   * one that answers (connection recovery at ERL 2, session recovery below it). See
   * ops/initiator/README.md, "Portals and failover".
   */
  public List<String> getPortals() {
    return List.copyOf(portals);
  }

  public InitiatorOptions addPortal(String portal) {
    portals.add(Objects.requireNonNull(portal));
    return this;
  }

  /**
   * A connection with requests outstanding on which the target sends nothing for this long is
   * treated as lost (closed, then recovered): how a hung node is noticed. An idle connection is
   * pinged (NOP-Out) after half of it. 0 (the default) turns the watch off.
   */
  public long getLivenessTimeoutMillis() {
    return livenessTimeoutMillis;
  }

  public InitiatorOptions setLivenessTimeoutMillis(long v) {
    if (v < 0) throw new IllegalArgumentException("liveness timeout " + v + " is negative");
    this.livenessTimeoutMillis = v;
    return this;
  }

  /**
   * Whether a normal session asks its target for the target's portals (Text SendTargets, RFC 7143
   * §12.3) after login and after each failover, and may fail over to those too.
   */
  public boolean isPortalDiscovery() {
    return portalDiscovery;
  }

  public InitiatorOptions setPortalDiscovery(boolean portalDiscovery) {
    this.portalDiscovery = portalDiscovery;
    return this;
  }

  /** Faults to inject into what this initiator sends (tests and the verify workload); none by default. */
  public FaultInjector getFaultInjector() {
    return faultInjector;
  }

  public InitiatorOptions setFaultInjector(FaultInjector faultInjector) {
    this.faultInjector = Objects.requireNonNull(faultInjector);
    return this;
  }

  /** Keys offered in the operational stage in addition to the ones above (to probe a target). */
  public List<TextKeys.Pair> getExtraKeys() {
    return extraKeys;
  }

  public InitiatorOptions addExtraKey(String key, String value) {
    extraKeys.add(new TextKeys.Pair(key, value));
    return this;
  }

  private static int range(String key, int v, int min, int max) {
    if (v < min || v > max) throw new IllegalArgumentException(key + " " + v + " is outside " + min + ".." + max);
    return v;
  }
}
