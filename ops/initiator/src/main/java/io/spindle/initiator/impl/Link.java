package io.spindle.initiator.impl;

import io.spindle.initiator.ConnectionClosedException;
import io.spindle.initiator.NegotiatedParameters;
import io.spindle.iscsi.pdu.Pdu;
import java.util.List;
import java.util.TreeSet;

/**
 * One connection of a session: its StatSN sequence (RFC 7143 §4.2.2.2), what it may carry, the
 * portal it was opened to and when the target last sent anything on it.
 */
final class Link implements ConnectionImpl.Listener {
  private final SessionImpl session;
  final ConnectionImpl connection;
  final int cid;
  final NegotiatedParameters params;
  final Portals.Portal portal;
  int expStatSn;
  /** StatSNs received beyond a gap (ERL >= 1). */
  final TreeSet<Integer> ahead = new TreeSet<>(Sn::compare);
  /** Every StatSN below this was received or asked for with a Status SNACK. */
  int statSnackedTo;
  /** The target asked for a logout: no new commands, logout once its tasks are done. */
  boolean draining;
  boolean loggedOut;
  boolean gone;
  /** System.nanoTime of the last PDU received (or of the login), for the liveness watch. */
  long lastReceived = System.nanoTime();
  /** A liveness NOP-Out ping is out on this connection. */
  boolean pingOut;

  Link(SessionImpl session, ConnectionImpl connection, int cid, NegotiatedParameters params, int expStatSn,
      Portals.Portal portal) {
    this.session = session;
    this.connection = connection;
    this.cid = cid;
    this.params = params;
    this.expStatSn = expStatSn;
    this.statSnackedTo = expStatSn;
    this.portal = portal;
  }

  void write(Pdu pdu) {
    connection.write(pdu);
  }

  /** Writes every PDU; ownership of all of them passes, even when one write throws. */
  void sendAll(List<Pdu> pdus) {
    int i = 0;
    try {
      for (; i < pdus.size(); i++) connection.write(pdus.get(i));
    } finally {
      for (i++; i < pdus.size(); i++) pdus.get(i).release();
    }
  }

  @Override
  public void onPdu(Pdu pdu) {
    lastReceived = System.nanoTime();
    session.onPdu(this, pdu);
  }

  @Override
  public void onClosed(ConnectionClosedException cause) {
    session.recovery.onLinkClosed(this, cause);
  }

  @Override
  public String toString() {
    return "CID " + cid;
  }
}
