package io.spindle.scsi.impl;

import io.spindle.scsi.ScsiResult;
import io.vertx.core.Future;

/**
 * Carries out one command on its context. May throw {@link CheckCondition} while validating,
 * or fail the future with one later; any other failure becomes a HARDWARE or MEDIUM ERROR.
 */
@FunctionalInterface
public interface CommandHandler {
  Future<ScsiResult> handle(Task task);
}
