package io.spindle.scsi.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class OpcodeTableDocTest {

  @Test
  void committedCommandsMdMatchesTheOpcodeTable() throws Exception {
    // Surefire runs in the module directory.
    String committed = Files.readString(Path.of("COMMANDS.md"), StandardCharsets.UTF_8);
    assertEquals(OpcodeTableDoc.markdown(), committed,
        "scsi-engine/COMMANDS.md is stale: run io.spindle.scsi.impl.OpcodeTableDoc scsi-engine/COMMANDS.md");
  }
}
