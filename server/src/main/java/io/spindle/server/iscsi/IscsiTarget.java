package io.spindle.server.iscsi;

import io.spindle.scsi.ScsiTarget;

/**
 * A target as the iSCSI layer sees it: its name, alias, and the SCSI target device behind it.
 */
public record IscsiTarget(String name, String alias, ScsiTarget scsi) {
}
