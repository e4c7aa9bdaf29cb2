package io.spindle.rdma.disni;

import io.spindle.rdma.WorkCompletion.Status;

/** Maps verbs completion statuses (ibv_wc_status) onto the SPI's error classes. */
final class CompletionStatus {

  private CompletionStatus() {
  }

  static Status of(int wcStatus) {
    return switch (wcStatus) {
      case Verbs.WC_SUCCESS -> Status.SUCCESS;
      case Verbs.WC_LOC_LEN_ERR -> Status.LOCAL_LENGTH_ERROR;
      case Verbs.WC_LOC_PROT_ERR, Verbs.WC_LOC_ACCESS_ERR -> Status.LOCAL_PROTECTION_ERROR;
      case Verbs.WC_WR_FLUSH_ERR -> Status.FLUSHED;
      // The responder refused the access: bad rkey, bounds or rights (IB NAK "remote access error").
      case Verbs.WC_REM_ACCESS_ERR, Verbs.WC_REM_INV_RD_REQ_ERR -> Status.REMOTE_ACCESS_ERROR;
      // The responder could not do it: no room in its receive (Send too long), or an operation error.
      case Verbs.WC_REM_INV_REQ_ERR, Verbs.WC_REM_OP_ERR, Verbs.WC_RNR_RETRY_EXC_ERR -> Status.REMOTE_OPERATION_ERROR;
      default -> Status.FATAL;
    };
  }

  /** The libibverbs name and meaning, for logs (ibv_wc_status_str wording). */
  static String describe(int wcStatus) {
    return switch (wcStatus) {
      case Verbs.WC_SUCCESS -> "IBV_WC_SUCCESS";
      case Verbs.WC_LOC_LEN_ERR -> "IBV_WC_LOC_LEN_ERR (local length error)";
      case Verbs.WC_LOC_QP_OP_ERR -> "IBV_WC_LOC_QP_OP_ERR (local QP operation error)";
      case Verbs.WC_LOC_PROT_ERR -> "IBV_WC_LOC_PROT_ERR (local protection error)";
      case Verbs.WC_WR_FLUSH_ERR -> "IBV_WC_WR_FLUSH_ERR (work request flushed)";
      case Verbs.WC_LOC_ACCESS_ERR -> "IBV_WC_LOC_ACCESS_ERR (local access error)";
      case Verbs.WC_REM_INV_REQ_ERR -> "IBV_WC_REM_INV_REQ_ERR (remote invalid request)";
      case Verbs.WC_REM_ACCESS_ERR -> "IBV_WC_REM_ACCESS_ERR (remote access error)";
      case Verbs.WC_REM_OP_ERR -> "IBV_WC_REM_OP_ERR (remote operation error)";
      case Verbs.WC_RETRY_EXC_ERR -> "IBV_WC_RETRY_EXC_ERR (transport retry counter exceeded: peer unreachable)";
      case Verbs.WC_RNR_RETRY_EXC_ERR -> "IBV_WC_RNR_RETRY_EXC_ERR (peer posted no receive in time)";
      case Verbs.WC_REM_INV_RD_REQ_ERR -> "IBV_WC_REM_INV_RD_REQ_ERR (remote invalid RD request)";
      case Verbs.WC_FATAL_ERR -> "IBV_WC_FATAL_ERR (fatal error)";
      default -> "ibv_wc_status " + wcStatus;
    };
  }
}
