package io.spindle.iscsi.datamover;

import io.spindle.iscsi.pdu.Pdu;

/**
 * The iSCSI layer's side of the Datamover Interface (RFC 5047 §3.3): what the datamover tells
 * it. Called on the connection's context.
 */
public interface DatamoverListener {

  /**
   * Control_Notify (RFC 5047 §3.3.1): a PDU arrived. iSCSI/TCP also passes Data-Out PDUs here
   * (the iSCSI layer places their data); iSER places data itself and reports
   * {@link #dataCompletionNotify}. The listener owns the PDU and releases it.
   */
  void controlNotify(Pdu pdu);

  /** Data_Completion_Notify (RFC 5047 §3.3.2): all data an R2T asked for has been placed. */
  void dataCompletionNotify(int itt, int r2tSn);

  /** Data_ACK_Notify (RFC 5047 §3.3.3): the initiator acknowledged Data-In up to this DataSN. */
  void dataAckNotify(int itt, int dataSn);

  /**
   * The datamover dropped a PDU it could not trust (header digest error at ErrorRecoveryLevel &gt; 0,
   * RFC 7143 §7.8); the stream goes on. Recovery is by the sequence numbers (SNACK, recovery R2T).
   */
  default void pduDiscarded(String reason) {
  }

  /**
   * Connection_Terminate_Notify (RFC 5047 §3.3.4): the connection is gone or unusable.
   *
   * @param reason what happened, for the log ("peer closed", "header digest mismatch", ...)
   */
  void connectionTerminateNotify(String reason);
}
