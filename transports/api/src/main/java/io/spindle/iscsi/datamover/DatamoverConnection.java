package io.spindle.iscsi.datamover;

import io.spindle.iscsi.pdu.DataInPdu;
import io.spindle.iscsi.pdu.R2tPdu;
import io.spindle.iscsi.pdu.TargetPdu;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.net.SocketAddress;

/**
 * The Datamover Interface (RFC 5047 §3) of one connection, as the iSCSI layer sees it. The
 * iSCSI layer builds every PDU (sequence numbers, tags, offsets); the datamover moves it:
 * iSCSI/TCP writes PDUs on the stream, iSER turns Put_Data and Get_Data into RDMA Write and
 * RDMA Read. Every method must be called on {@link #context()}; none of them blocks.
 */
public interface DatamoverConnection {

  /** The transport's name as portals configure it: {@code tcp}, {@code iser-iwarp}, {@code iser-disni}. */
  String transport();

  /** The connection's context: its event loop. */
  Context context();

  SocketAddress remoteAddress();

  SocketAddress localAddress();

  /** Attaches the iSCSI layer; received PDUs and notifications go there from now on. */
  void listener(DatamoverListener listener);

  /** Send_Control (RFC 5047 §3.2.1): transmit a control-type PDU; ownership passes to the datamover. */
  Future<Void> sendControl(TargetPdu pdu);

  /**
   * Put_Data (RFC 5047 §3.2.2): deliver the Data-In PDU's data segment to the initiator's buffer at
   * the PDU's offset (TCP: send the PDU with its data). Ownership passes to the datamover.
   */
  Future<Void> putData(DataInPdu pdu);

  /**
   * Get_Data (RFC 5047 §3.2.3): fetch the range the R2T names from the initiator's buffer (TCP: send
   * the R2T; the solicited Data-Out PDUs then arrive through {@link DatamoverListener#controlNotify}).
   */
  Future<Void> getData(R2tPdu pdu);

  /**
   * Send_Control, Put_Data or Get_Data by the PDU's kind, for a caller that does not wait for the
   * outcome (Data-In, R2T, SCSI Response): a transport may then skip creating a Future. A failed
   * send is not reported; ownership passes to the datamover.
   */
  default void post(TargetPdu pdu) {
    if (pdu instanceof DataInPdu d) {
      putData(d);
    } else if (pdu instanceof R2tPdu r) {
      getData(r);
    } else {
      sendControl(pdu);
    }
  }

  /**
   * Notice_Key_Values (RFC 5047 §3.2.6): the keys the login negotiated that the datamover acts on.
   * Takes effect for the PDUs after the final Login Response (RFC 7143 §13.1, §13.12).
   */
  void noticeKeyValues(DatamoverKeys keys);

  /** Enable_Datamover (RFC 5047 §3.2.7): login is over, full feature phase framing starts now. */
  void enableDatamover();

  /** Deallocate_Task_Resources (RFC 5047 §3.2.9): the task with this ITT is over. */
  void deallocateTaskResources(int itt);

  /**
   * Bounds what this connection may leave unsent: over {@link OutboundLimit#bytes()} the datamover
   * stops reading from the peer until the queue drains to half, and closes a peer that stays over
   * for {@link OutboundLimit#stallMillis()}. Takes effect at once; the default ignores it (a
   * transport whose sends are bounded otherwise).
   */
  default void outboundLimit(OutboundLimit limit) {
  }

  /** Stops reading from the peer (backpressure); {@link #resume()} undoes it. */
  void pause();

  void resume();

  /** Connection_Terminate (RFC 5047 §3.2.8): close the connection; pending sends are flushed first. */
  Future<Void> terminate();
}
