package io.spindle.server.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.spindle.server.iscsi.IscsiObserver;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The iSCSI layer's events as Micrometer meters, named for Prometheus ({@code spindle_} prefix,
 * base units seconds and bytes; see README "Metrics" for the list). Label values are bounded:
 * target names only for configured targets (a failed login may name anything), RFC code names
 * for statuses and reasons, never peers.
 *
 * <p>Also keeps per-session counters for the admin API's statistics, keyed by TSIH.
 */
public final class IscsiMetrics implements IscsiObserver {

  /** Latency histogram buckets: 50 µs to 10 s, enough resolution for both RAM and disk LUNs. */
  static final Duration[] LATENCY_BUCKETS = {
      Duration.ofNanos(50_000), Duration.ofNanos(100_000), Duration.ofNanos(250_000), Duration.ofNanos(500_000),
      Duration.ofMillis(1), Duration.ofNanos(2_500_000), Duration.ofMillis(5), Duration.ofMillis(10),
      Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250),
      Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5),
      Duration.ofSeconds(10)};

  /** Per-session command counters (admin API statistics). */
  public static final class SessionCounters {
    public final LongAdder reads = new LongAdder();
    public final LongAdder writes = new LongAdder();
    public final LongAdder others = new LongAdder();
    public final LongAdder bytesRead = new LongAdder();
    public final LongAdder bytesWritten = new LongAdder();
    public final LongAdder errors = new LongAdder();
    /** Dropped by {@link #retainSessions}: a meter that still holds it puts it back. */
    volatile boolean retired;
  }

  private final MeterRegistry registry;
  private volatile Set<String> knownTargets = Set.of();
  private final Map<String, AtomicLong> sessions = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> connections = new ConcurrentHashMap<>();
  private final AtomicLong discoverySessions = new AtomicLong();
  private final Map<Integer, SessionCounters> perSession = new ConcurrentHashMap<>();
  /**
   * The meters of each (target, LUN, operation, status) seen, so a completed command costs a map
   * lookup instead of building tags and looking the meters up in the registry (meters are never
   * removed, so a cached one stays the registered one).
   */
  private final Map<CommandKey, CommandMeters> commandMeters = new ConcurrentHashMap<>();

  private record CommandKey(String target, int lun, CommandKind kind, int status) {
  }

  private static final class CommandMeters {
    final Counter commands;
    final Timer duration;
    /** Registered with the first command of the key that moved data, as before caching. */
    volatile Counter data;

    CommandMeters(Counter commands, Timer duration) {
      this.commands = commands;
      this.duration = duration;
    }
  }

  public IscsiMetrics(MeterRegistry registry) {
    this.registry = registry;
    Gauge.builder("spindle.iscsi.discovery.sessions", discoverySessions, AtomicLong::get)
        .description("Open discovery sessions").register(registry);
    // Rare errors are exported as 0 from the start, so that rate() and alerts see them before the first one.
    for (String type : new String[] {"header", "data"}) {
      Counter.builder("spindle.iscsi.digest.errors").description("CRC32C digest mismatches").tag("type", type)
          .register(registry);
    }
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** The configured target names; other names a login presents are labelled {@code other}. */
  public void knownTargets(Set<String> names) {
    this.knownTargets = Set.copyOf(names);
  }

  /** Counters of a session, or null when it has seen no command since this observer was installed. */
  public SessionCounters session(int tsih) {
    return perSession.get(tsih);
  }

  /** Forgets sessions that are no longer live. */
  public void retainSessions(Set<Integer> live) {
    perSession.entrySet().removeIf(e -> {
      if (live.contains(e.getKey())) return false;
      e.getValue().retired = true;
      return true;
    });
  }

  /** Names of targets a session has logged in to: configured, so a bounded set. */
  private static String target(String name) {
    return name == null ? "none" : name;
  }

  /** A name a failed login presented: anything at all, so only configured names become labels. */
  private String presented(String name) {
    if (name == null) return "none";
    return knownTargets.contains(name) ? name : "other";
  }

  @Override
  public void connectionOpened(String transport, String peer) {
    gauge(connections, "spindle.iscsi.connections", "Open iSCSI connections", Tags.of("transport", transport))
        .incrementAndGet();
    Counter.builder("spindle.iscsi.connections.accepted").description("Transport connections accepted")
        .tag("transport", transport).register(registry).increment();
  }

  @Override
  public void connectionClosed(String transport, String peer) {
    gauge(connections, "spindle.iscsi.connections", "Open iSCSI connections", Tags.of("transport", transport))
        .decrementAndGet();
  }

  @Override
  public void loginSucceeded(String peer, String initiatorName, String targetName, boolean discovery) {
    Counter.builder("spindle.iscsi.logins").description("Completed logins by result and RFC 7143 status")
        .tags("target", discovery ? "discovery" : target(targetName), "result", "success", "reason", "success")
        .register(registry).increment();
  }

  @Override
  public void loginFailed(String peer, String initiatorName, String targetName, int status) {
    Counter.builder("spindle.iscsi.logins").description("Completed logins by result and RFC 7143 status")
        .tags("target", presented(targetName), "result", "failure", "reason", loginStatus(status))
        .register(registry).increment();
  }

  @Override
  public void sessionOpened(String targetName, boolean discovery) {
    if (discovery) {
      discoverySessions.incrementAndGet();
    } else {
      gauge(sessions, "spindle.iscsi.sessions", "Open normal sessions", Tags.of("target", target(targetName)))
          .incrementAndGet();
    }
  }

  @Override
  public void sessionClosed(String targetName, boolean discovery) {
    if (discovery) {
      discoverySessions.decrementAndGet();
    } else {
      gauge(sessions, "spindle.iscsi.sessions", "Open normal sessions", Tags.of("target", target(targetName)))
          .decrementAndGet();
    }
  }

  @Override
  public void commandCompleted(String targetName, int lun, CommandKind kind, int scsiStatus, long bytes,
      long latencyNanos) {
    String t = target(targetName);
    CommandKey key = new CommandKey(t, lun, kind, scsiStatus);
    CommandMeters m = commandMeters.get(key);
    if (m == null) m = commandMeters.computeIfAbsent(key, this::commandMeters);
    m.commands.increment();
    if (kind != CommandKind.OTHER && bytes > 0) dataCounter(m, t, lun, kind).increment(bytes);
    m.duration.record(latencyNanos, TimeUnit.NANOSECONDS);
  }

  /** The data counter of a (target, LUN, operation), registered by the first command that moved data. */
  private Counter dataCounter(CommandMeters m, String t, int lun, CommandKind kind) {
    Counter data = m.data;
    if (data == null) {
      data = Counter.builder("spindle.scsi.data").baseUnit("bytes").description("Data moved by READ and WRITE commands")
          .tags("target", t, "lun", Integer.toString(lun), "op", op(kind)).register(registry);
      m.data = data;
    }
    return data;
  }

  private static String op(CommandKind kind) {
    return kind.name().toLowerCase(java.util.Locale.ROOT);
  }

  private CommandMeters commandMeters(CommandKey k) {
    String l = Integer.toString(k.lun());
    String op = op(k.kind());
    Counter commands = Counter.builder("spindle.scsi.commands")
        .description("SCSI commands completed, by operation and SAM status")
        .tags("target", k.target(), "lun", l, "op", op, "status", scsiStatus(k.status())).register(registry);
    Timer duration = Timer.builder("spindle.scsi.command.duration").description("Command arrival to status sent")
        .tags("target", k.target(), "lun", l, "op", op).serviceLevelObjectives(LATENCY_BUCKETS).register(registry);
    return new CommandMeters(commands, duration);
  }

  @Override
  public void commandCompleted(int tsih, String targetName, int lun, CommandKind kind, int scsiStatus, long bytes,
      long latencyNanos) {
    commandCompleted(targetName, lun, kind, scsiStatus, bytes, latencyNanos);
    count(perSession.computeIfAbsent(tsih, k -> new SessionCounters()), kind, scsiStatus, bytes);
  }

  private static void count(SessionCounters c, CommandKind kind, int scsiStatus, long bytes) {
    switch (kind) {
      case READ -> {
        c.reads.increment();
        c.bytesRead.add(bytes);
      }
      case WRITE -> {
        c.writes.increment();
        c.bytesWritten.add(bytes);
      }
      default -> c.others.increment();
    }
    if (scsiStatus != 0) c.errors.increment();
  }

  /**
   * The meters of one session's commands on one LUN and kind, resolved once: a GOOD command then
   * costs a counter increment, a timer record and the session's counters, with no lookup and no
   * allocation. Other statuses (rare) take the keyed path for their status counter.
   */
  @Override
  public CommandMeter commandMeter(int tsih, String targetName, int lun, CommandKind kind) {
    return new SessionCommandMeter(tsih, target(targetName), lun, kind,
        perSession.computeIfAbsent(tsih, k -> new SessionCounters()));
  }

  private final class SessionCommandMeter implements CommandMeter {
    private final int tsih;
    private final String target;
    private final int lun;
    private final CommandKind kind;
    /** The admin API's counters of the session. */
    private SessionCounters session;
    /** The GOOD meters, resolved by the first GOOD command so no series appears before one. */
    private CommandMeters good;

    SessionCommandMeter(int tsih, String target, int lun, CommandKind kind, SessionCounters session) {
      this.tsih = tsih;
      this.target = target;
      this.lun = lun;
      this.kind = kind;
      this.session = session;
    }

    @Override
    public void completed(int scsiStatus, long bytes, long latencyNanos) {
      if (scsiStatus == 0) {
        CommandMeters m = good;
        if (m == null) {
          m = commandMeters.computeIfAbsent(new CommandKey(target, lun, kind, 0), IscsiMetrics.this::commandMeters);
          good = m;
        }
        m.commands.increment();
        if (kind != CommandKind.OTHER && bytes > 0) dataCounter(m, target, lun, kind).increment(bytes);
        m.duration.record(latencyNanos, TimeUnit.NANOSECONDS);
      } else {
        commandCompleted(target, lun, kind, scsiStatus, bytes, latencyNanos);
      }
      SessionCounters c = session;
      if (c.retired) {
        // Taken for an ended session by a statistics call that raced this session's start.
        c = perSession.computeIfAbsent(tsih, k -> {
          session.retired = false;
          return session;
        });
        session = c;
      }
      count(c, kind, scsiStatus, bytes);
    }
  }

  @Override
  public void taskManagement(String targetName, String function, int response) {
    Counter.builder("spindle.iscsi.task.management").description("Task management functions, by response")
        .tags("target", target(targetName), "function", function.toLowerCase(java.util.Locale.ROOT),
            "response", Integer.toString(response))
        .register(registry).increment();
  }

  @Override
  public void r2tSent(String targetName) {
    Counter.builder("spindle.iscsi.r2t").description("R2T PDUs sent").tag("target", target(targetName))
        .register(registry).increment();
  }

  @Override
  public void digestError(String peer, boolean header) {
    Counter.builder("spindle.iscsi.digest.errors").description("CRC32C digest mismatches")
        .tag("type", header ? "header" : "data").register(registry).increment();
  }

  @Override
  public void pduRejected(String peer, int reason) {
    Counter.builder("spindle.iscsi.rejected.pdus").description("Reject PDUs sent, by RFC 7143 §11.17.1 reason")
        .tag("reason", rejectReason(reason)).register(registry).increment();
  }

  private AtomicLong gauge(Map<String, AtomicLong> values, String name, String description, Tags tags) {
    return values.computeIfAbsent(name + tags, k -> {
      AtomicLong v = new AtomicLong();
      Gauge.builder(name, v, AtomicLong::get).description(description).tags(tags).register(registry);
      return v;
    });
  }

  /** SAM-5 §5.3 status codes. */
  static String scsiStatus(int status) {
    return switch (status) {
      case 0x00 -> "good";
      case 0x02 -> "check_condition";
      case 0x04 -> "condition_met";
      case 0x08 -> "busy";
      case 0x18 -> "reservation_conflict";
      case 0x28 -> "task_set_full";
      case 0x30 -> "aca_active";
      case 0x40 -> "task_aborted";
      default -> "other";
    };
  }

  /** RFC 7143 §11.13.5 Status-Class and Status-Detail. */
  static String loginStatus(int status) {
    return switch (status) {
      case 0x0101 -> "target_moved_temporarily";
      case 0x0102 -> "target_moved_permanently";
      case 0x0200 -> "initiator_error";
      case 0x0201 -> "authentication_failure";
      case 0x0202 -> "authorization_failure";
      case 0x0203 -> "not_found";
      case 0x0204 -> "target_removed";
      case 0x0205 -> "unsupported_version";
      case 0x0206 -> "too_many_connections";
      case 0x0207 -> "missing_parameter";
      case 0x0208 -> "cant_include_in_session";
      case 0x0209 -> "session_type_not_supported";
      case 0x020a -> "session_does_not_exist";
      case 0x020b -> "invalid_during_login";
      case 0x0300 -> "target_error";
      case 0x0301 -> "service_unavailable";
      case 0x0302 -> "out_of_resources";
      default -> "other";
    };
  }

  /** RFC 7143 §11.17.1 reject reasons. */
  static String rejectReason(int reason) {
    return switch (reason) {
      case 0x02 -> "data_digest_error";
      case 0x03 -> "snack_reject";
      case 0x04 -> "protocol_error";
      case 0x05 -> "command_not_supported";
      case 0x06 -> "immediate_command_reject";
      case 0x07 -> "task_in_progress";
      case 0x08 -> "invalid_data_ack";
      case 0x09 -> "invalid_pdu_field";
      case 0x0a -> "long_operation_reject";
      case 0x0c -> "waiting_for_logout";
      default -> "other";
    };
  }
}
