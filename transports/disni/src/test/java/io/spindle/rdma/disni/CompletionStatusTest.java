package io.spindle.rdma.disni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.rdma.WorkCompletion.Status;
import org.junit.jupiter.api.Test;

class CompletionStatusTest {

  @Test
  void verbsStatusesMapOntoTheSpiErrorClasses() {
    assertEquals(Status.SUCCESS, CompletionStatus.of(Verbs.WC_SUCCESS));
    assertEquals(Status.LOCAL_LENGTH_ERROR, CompletionStatus.of(Verbs.WC_LOC_LEN_ERR));
    assertEquals(Status.LOCAL_PROTECTION_ERROR, CompletionStatus.of(Verbs.WC_LOC_PROT_ERR));
    assertEquals(Status.LOCAL_PROTECTION_ERROR, CompletionStatus.of(Verbs.WC_LOC_ACCESS_ERR));
    assertEquals(Status.FLUSHED, CompletionStatus.of(Verbs.WC_WR_FLUSH_ERR));
    assertEquals(Status.REMOTE_ACCESS_ERROR, CompletionStatus.of(Verbs.WC_REM_ACCESS_ERR));
    assertEquals(Status.REMOTE_ACCESS_ERROR, CompletionStatus.of(Verbs.WC_REM_INV_RD_REQ_ERR));
    assertEquals(Status.REMOTE_OPERATION_ERROR, CompletionStatus.of(Verbs.WC_REM_INV_REQ_ERR));
    assertEquals(Status.REMOTE_OPERATION_ERROR, CompletionStatus.of(Verbs.WC_REM_OP_ERR));
    assertEquals(Status.REMOTE_OPERATION_ERROR, CompletionStatus.of(Verbs.WC_RNR_RETRY_EXC_ERR));
    assertEquals(Status.FATAL, CompletionStatus.of(Verbs.WC_RETRY_EXC_ERR));
    assertEquals(Status.FATAL, CompletionStatus.of(Verbs.WC_FATAL_ERR));
    assertEquals(Status.FATAL, CompletionStatus.of(Verbs.WC_LOC_QP_OP_ERR));
    assertEquals(Status.FATAL, CompletionStatus.of(99));
  }

  @Test
  void descriptionsNameTheVerbsStatus() {
    assertTrue(CompletionStatus.describe(Verbs.WC_RETRY_EXC_ERR).startsWith("IBV_WC_RETRY_EXC_ERR"));
    assertTrue(CompletionStatus.describe(Verbs.WC_REM_ACCESS_ERR).contains("remote access"));
    assertEquals("ibv_wc_status 99", CompletionStatus.describe(99));
  }
}
