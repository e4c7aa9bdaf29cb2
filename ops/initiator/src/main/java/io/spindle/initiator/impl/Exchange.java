package io.spindle.initiator.impl;

import io.spindle.iscsi.pdu.TargetPdu;
import io.vertx.core.Promise;

/**
 * Something a session waits for, keyed by its Initiator Task Tag: a SCSI command, NOP-Out, task
 * management request, Text or Logout exchange (one class each). Runs on the session's context.
 */
abstract class Exchange<T> {
  final SessionImpl session;
  final int itt;
  final Promise<T> promise;
  long timer = -1;
  /** The connection it has allegiance to (RFC 7143 §5.3.2), null while queued or orphaned. */
  Link link;

  Exchange(SessionImpl session, int itt) {
    this.session = session;
    this.itt = itt;
    this.promise = session.context.promise();
  }

  /** True for requests that take a CmdSN and wait for the window. */
  abstract boolean ordered();

  /** Sends it on {@link #link} with CmdSN {@code sn} (the current one for immediate requests). */
  abstract void start(int sn);

  abstract void onPdu(TargetPdu pdu);

  void succeed(T value) {
    session.done(this);
    promise.tryComplete(value);
  }

  void fail(Throwable cause) {
    session.done(this);
    release();
    promise.tryFail(cause);
  }

  void release() {
  }
}
