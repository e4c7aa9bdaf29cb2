package io.spindle.scsi.impl;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Generates {@code scsi-engine/COMMANDS.md}, the supported-commands table, from the
 * {@link OpcodeTable}: the document cannot drift from what dispatch and REPORT SUPPORTED
 * OPERATION CODES use. {@code OpcodeTableDocTest} fails when the committed file is stale.
 *
 * <p>Usage: {@code java -cp server/target/spindle.jar io.spindle.scsi.impl.OpcodeTableDoc [FILE]} (stdout without FILE).
 */
public final class OpcodeTableDoc {

  private OpcodeTableDoc() {
  }

  public static String markdown() {
    StringBuilder sb = new StringBuilder();
    sb.append("# Supported SCSI commands\n\n");
    sb.append("Generated from `OpcodeTable` by `io.spindle.scsi.impl.OpcodeTableDoc`; do not edit by hand.\n");
    sb.append("Regenerate with `java -cp server/target/spindle.jar io.spindle.scsi.impl.OpcodeTableDoc "
        + "scsi-engine/COMMANDS.md`.\n");
    sb.append("Every row is supported by every logical unit; commands not listed end in CHECK CONDITION, "
        + "ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE (or INVALID FIELD IN CDB for an unknown "
        + "service action).\n\n");
    sb.append("| Opcode | Service action | Command | Standard | CDB length | Supported |\n");
    sb.append("|---|---|---|---|---|---|\n");
    for (CommandDescriptor d : OpcodeTable.all()) {
      sb.append(String.format("| %02Xh | %s | %s | %s | %d | yes |%n", d.opcode(),
          d.serviceAction() < 0 ? "-" : String.format("%02Xh", d.serviceAction()), d.name(), d.standard(),
          d.cdbLength()));
    }
    return sb.toString();
  }

  public static void main(String[] args) throws IOException {
    String md = markdown();
    if (args.length == 0) {
      System.out.print(md);
    } else {
      Files.writeString(Path.of(args[0]), md, StandardCharsets.UTF_8);
    }
  }
}
