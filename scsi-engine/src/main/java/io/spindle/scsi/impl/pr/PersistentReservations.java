package io.spindle.scsi.impl.pr;

import java.util.List;

/**
 * Persistent reservation state of one logical unit (SPC-4 §5.9). The in-memory implementation
 * serves a single node; a clustered one (StateStore SPI) can replace it behind this interface.
 * I_T nexuses are identified by {@code initiatorPort|targetPort}. Every method is atomic.
 */
public interface PersistentReservations {

  /** Outcome of a PERSISTENT RESERVE OUT service action. */
  enum Outcome { GOOD, RESERVATION_CONFLICT, INVALID_FIELD_IN_PARAMETER_LIST, INVALID_FIELD_IN_CDB,
    INVALID_RELEASE }

  /** Reservation types (SPC-4 table 212). */
  int WRITE_EXCLUSIVE = 1;
  int EXCLUSIVE_ACCESS = 3;
  int WRITE_EXCLUSIVE_REGISTRANTS_ONLY = 5;
  int EXCLUSIVE_ACCESS_REGISTRANTS_ONLY = 6;
  int WRITE_EXCLUSIVE_ALL_REGISTRANTS = 7;
  int EXCLUSIVE_ACCESS_ALL_REGISTRANTS = 8;

  /** A snapshot for PERSISTENT RESERVE IN. {@code holderKey} is 0 for all-registrants types. */
  record Status(int generation, List<Long> keys, boolean reserved, long holderKey, int type) {
  }

  /** One registered I_T nexus, for READ FULL STATUS (SPC-4 §6.15.5). */
  record Registrant(String nexus, long key, boolean holder) {
  }

  /** Sink for the unit attentions a service action raises for other nexuses. */
  interface Notifier {
    void notify(String nexus, int asc, int ascq);
  }

  Status status();

  /** True when the reservation blocks this nexus for a read ({@code write} false) or write. */
  boolean conflicts(String nexus, boolean write);

  /** True when any persistent reservation exists (SPC-2 RESERVE then conflicts). */
  boolean reserved();

  /**
   * REGISTER / REGISTER AND IGNORE EXISTING KEY. {@code aptpl} is the parameter list's APTPL
   * bit: the last successful registration decides whether the state persists (SPC-4 §5.9.5).
   */
  Outcome register(String nexus, long key, long serviceActionKey, boolean ignoreExisting, boolean aptpl, Notifier n);

  /**
   * REGISTER AND MOVE (SPC-4 §5.9.9): the holder registers {@code destination} with
   * {@code serviceActionKey} and hands it the reservation, optionally unregistering itself.
   */
  Outcome registerAndMove(String nexus, long key, long serviceActionKey, String destination, int type,
      boolean unregister, boolean aptpl);

  /** Every registration, in registration order. */
  List<Registrant> registrants();

  /** Activate Persist Through Power Loss: the state is to be kept across restarts. */
  boolean aptpl();

  Outcome reserve(String nexus, long key, int type);

  Outcome release(String nexus, long key, int type, Notifier n);

  Outcome clear(String nexus, long key, Notifier n);

  Outcome preempt(String nexus, long key, long serviceActionKey, int type, Notifier n);
}
