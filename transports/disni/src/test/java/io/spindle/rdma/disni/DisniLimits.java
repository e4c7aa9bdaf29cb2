package io.spindle.rdma.disni;

import java.util.Map;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Skips the TCK tests that assert what DiSNI 2.1 cannot do, each with the reason. When a library
 * lifts a limit (see {@link Verbs.Features}), drop its entry.
 */
final class DisniLimits implements ExecutionCondition {

  static final Map<String, String> SKIPPED = Map.of(
      "connectCarriesPrivateDataBothWays",
      "DiSNI 2.1: CONNECT_REQUEST events carry no private data and accept sends none",
      "rejectCarriesPrivateData",
      "DiSNI 2.1 has no rdma_reject: a refused request reaches the peer as REJECTED without private data",
      "negotiatedOrdNeverExceedsPeerIrd",
      "DiSNI 2.1 cannot set IRD/ORD: rdma_cm uses the device maximum on both sides",
      "sendWithInvalidateInvalidatesBeforeTheReceiveCompletes",
      "DiSNI 2.1 has no Send with Invalidate opcode (iSER falls back to local invalidation)",
      "sendLandsInPostedReceivesInOrder",
      "verbs work completions do not report whether a Send was solicited");

  /** What stays out of reach with every {@link Verbs.Features} flag set. */
  static final Map<String, String> SKIPPED_WITH_ALL_FEATURES = Map.of(
      "negotiatedOrdNeverExceedsPeerIrd",
      "the active side is not told the peer's IRD by the verbs seam yet",
      "sendLandsInPostedReceivesInOrder",
      "verbs work completions do not report whether a Send was solicited");

  @Override
  public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
    boolean lifted = context.getTestClass().map(c -> c == FakeVerbsLiftedLimitsTckTest.class).orElse(false);
    Map<String, String> skipped = lifted ? SKIPPED_WITH_ALL_FEATURES : SKIPPED;
    String reason = context.getTestMethod().map(m -> skipped.get(m.getName())).orElse(null);
    return reason == null ? ConditionEvaluationResult.enabled("supported")
        : ConditionEvaluationResult.disabled(reason);
  }
}
