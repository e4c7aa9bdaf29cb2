package io.spindle.server.realpeers;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.spindle.server.realpeers.CuReport.Result;
import io.spindle.server.realpeers.CuReport.Status;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The iscsi-test-cu output reader, on hand-made output in the shape CUnit's verbose runner prints. */
class CuReportTest {

  private static final String OUTPUT = String.join("\n",
      "preamble: designators and the like",
      "Suite: Alpha",
      "  Test: Plain ...passed",
      "  Test: SkipsItself ...    [SKIPPED] FEATURE X is not implemented.",
      "    [SKIPPED] FEATURE X is not implemented.",
      "passed",
      "  Test: FailsWithMessage ...    [FAILED] READ10 returned GOOD, expected ILLEGAL_REQUEST",
      "FAILED",
      "    1. test_alpha.c:42  - CU_ASSERT_EQUAL(status,2)",
      "  Test: FailsAssertOnly ...FAILED",
      "    1. test_alpha.c:77  - CU_ASSERT_TRUE(x <= 1024)",
      "    2. test_alpha.c:78  - CU_ASSERT_TRUE(y)",
      "  Test: PassesAfterExpectedFailure ...    [FAILED] WRITE10 failed on purpose",
      "passed    [SKIPPED] tag printed after the verdict belongs to no one",
      "    [SKIPPED] tag printed after the verdict belongs to no one",
      "",
      "Suite: Beta",
      "  Test: Crashed ...    [SKIPPED] half a message and then nothing",
      "",
      "Run Summary:    Type  Total    Ran Passed Failed Inactive",
      "               tests      6      6      4      2        0");

  @Test
  void splitsCunitPassesIntoRealPassesAndSkips() {
    CuReport r = CuReport.parse(OUTPUT);
    assertEquals(List.of(
        new Result("Alpha", "Plain", Status.PASSED, ""),
        new Result("Alpha", "SkipsItself", Status.SKIPPED, "SKIPPED FEATURE X is not implemented."),
        new Result("Alpha", "FailsWithMessage", Status.FAILED, "FAILED READ10 returned GOOD, expected ILLEGAL_REQUEST"),
        new Result("Alpha", "FailsAssertOnly", Status.FAILED, "FAILED test_alpha.c:77  - CU_ASSERT_TRUE(x <= 1024)"),
        new Result("Alpha", "PassesAfterExpectedFailure", Status.PASSED, "FAILED WRITE10 failed on purpose"),
        new Result("Beta", "Crashed", Status.FAILED, "SKIPPED half a message and then nothing")),
        r.results());
    assertEquals(Map.of(Status.PASSED, 2, Status.SKIPPED, 1, Status.FAILED, 3), r.counts());
    assertEquals("2 passed, 3 failed, 1 skipped of 6", r.summary());
  }

  @Test
  void aTestWithNoVerdictAndNoMessageSaysSo() {
    CuReport r = CuReport.parse("Suite: S\n  Test: T ...\n");
    assertEquals(List.of(new Result("S", "T", Status.FAILED, "no verdict (crash or timeout)")), r.results());
  }

  @Test
  void longNotesAreClipped() {
    String msg = "x".repeat(300);
    CuReport r = CuReport.parse("Suite: S\n  Test: T ...    [FAILED] " + msg + "\nFAILED\n");
    assertEquals("FAILED " + "x".repeat(110), r.results().get(0).note());
  }
}
