package io.spindle.initiator;

import io.spindle.iscsi.pdu.Pdu;

/**
 * Decides, for each PDU a session sends in full feature phase, whether to damage it on the
 * wire. Used by tests and the verify workload to drive the target's digest error handling
 * (RFC 7143 §7.8). Called on the connection's event loop; must not block.
 */
@FunctionalInterface
public interface FaultInjector {

  /** What to do to one PDU. A digest fault is applied only when that digest is in force. */
  enum Fault {
    NONE,
    /** Flip a bit of the header digest: the target must discard the PDU (in practice: drop the connection). */
    HEADER_DIGEST,
    /** Flip a bit of the data digest: the target must Reject it with reason Data-Digest-Error. */
    DATA_DIGEST
  }

  FaultInjector NONE = pdu -> Fault.NONE;

  Fault onSend(Pdu pdu);
}
