package io.spindle.initiator;

import io.vertx.core.Future;

/** A submitted SCSI command: its Initiator Task Tag (for task management) and its outcome. */
public record PendingCommand(int itt, Future<ScsiResponse> response) {
}
