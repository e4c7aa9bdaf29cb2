package io.spindle.server.realpeers;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the verbose output of libiscsi's {@code iscsi-test-cu} (CUnit's basic runner) into one
 * result per test. CUnit counts a test that skipped itself as passed; this tells them apart the
 * way /work/shared/tools/cu-report.py does, so the numbers here and there agree:
 * <ul>
 * <li>a test's verdict is CUnit's own {@code passed} or {@code FAILED} word (not the bracketed
 *     {@code [FAILED]} or {@code [SKIPPED]} tags libiscsi prints), on the {@code Test:} line or a
 *     later line before the next test;</li>
 * <li>a {@code [SKIPPED]} message before a {@code passed} verdict makes the test skipped;</li>
 * <li>the note is the first {@code [SKIPPED]} message, overridden by the first {@code [FAILED]}
 *     message; a test with no verdict at all (crash, timeout) is failed.</li>
 * </ul>
 * One addition: a FAILED test without a libiscsi message gets CUnit's first failed-assertion line
 * ({@code 1. file.c:155 - CU_ASSERT...}) as its note, so every failure says why.
 */
final class CuReport {

  enum Status { PASSED, SKIPPED, FAILED }

  record Result(String suite, String test, Status status, String note) {
    String name() {
      return suite + "." + test;
    }

    @Override
    public String toString() {
      return String.format("%-8s %s%s", status.name().toLowerCase(), name(), note.isEmpty() ? "" : "  " + note);
    }
  }

  private static final Pattern SUITE = Pattern.compile("^Suite: (\\S+)");
  private static final Pattern TEST = Pattern.compile("^\\s+Test: (\\S+) \\.\\.\\.(.*)$");
  /** CUnit's verdict word, not libiscsi's bracketed tags. */
  private static final Pattern VERDICT = Pattern.compile("(?<!\\[)\\b(passed|FAILED)\\b(?!\\])");
  private static final Pattern ASSERTION = Pattern.compile("^\\s+\\d+\\. (.*)$");
  private static final int NOTE_LENGTH = 110;

  private final List<Result> results;

  private CuReport(List<Result> results) {
    this.results = List.copyOf(results);
  }

  static CuReport parse(String text) {
    List<Result> out = new ArrayList<>();
    String suite = null;
    Builder cur = null;
    Builder failedWithoutNote = null;
    for (String line : text.split("\\R")) {
      Matcher m = SUITE.matcher(line);
      if (m.find()) {
        suite = m.group(1);
        cur = null;
        failedWithoutNote = null;
        continue;
      }
      String rest;
      m = TEST.matcher(line);
      if (m.matches()) {
        cur = new Builder(suite, m.group(1));
        out.add(null);
        cur.index = out.size() - 1;
        failedWithoutNote = null;
        rest = m.group(2);
      } else if (cur != null && cur.verdict == null) {
        rest = line;
      } else {
        Matcher a = ASSERTION.matcher(line);
        if (failedWithoutNote != null && a.matches()) {
          failedWithoutNote.note = "FAILED " + clip(a.group(1).strip());
          out.set(failedWithoutNote.index, failedWithoutNote.build());
          failedWithoutNote = null;
        }
        continue;
      }
      Matcher v = VERDICT.matcher(rest);
      boolean hasVerdict = v.find();
      String messages = hasVerdict ? rest.substring(0, v.start()) : rest;
      if (messages.contains("[SKIPPED]") && cur.note.isEmpty()) {
        cur.note = "SKIPPED " + clip(after(messages, "[SKIPPED]"));
        cur.skip = true;
      }
      if (messages.contains("[FAILED]") && !cur.note.startsWith("FAILED")) {
        cur.note = "FAILED " + clip(after(messages, "[FAILED]"));
      }
      if (hasVerdict) cur.verdict = v.group(1);
      out.set(cur.index, cur.build());
      if ("FAILED".equals(cur.verdict) && cur.note.isEmpty()) failedWithoutNote = cur;
    }
    return new CuReport(out);
  }

  List<Result> results() {
    return results;
  }

  List<Result> with(Status s) {
    return results.stream().filter(r -> r.status() == s).toList();
  }

  Map<Status, Integer> counts() {
    Map<Status, Integer> c = new EnumMap<>(Status.class);
    for (Status s : Status.values()) c.put(s, with(s).size());
    return c;
  }

  String summary() {
    return with(Status.PASSED).size() + " passed, " + with(Status.FAILED).size() + " failed, "
        + with(Status.SKIPPED).size() + " skipped of " + results.size();
  }

  /** Every test on its own line, then the summary: what goes into report.txt. */
  String render() {
    StringBuilder b = new StringBuilder();
    results.forEach(r -> b.append(r).append('\n'));
    return b.append(summary()).append('\n').toString();
  }

  private static String after(String s, String tag) {
    return s.substring(s.indexOf(tag) + tag.length()).strip();
  }

  private static String clip(String s) {
    return s.length() <= NOTE_LENGTH ? s : s.substring(0, NOTE_LENGTH);
  }

  private static final class Builder {
    final String suite;
    final String test;
    int index;
    String verdict;
    String note = "";
    boolean skip;

    Builder(String suite, String test) {
      this.suite = suite;
      this.test = test;
    }

    Result build() {
      if (verdict == null) {
        return new Result(suite, test, Status.FAILED, note.isEmpty() ? "no verdict (crash or timeout)" : note);
      }
      if (verdict.equals("FAILED")) return new Result(suite, test, Status.FAILED, note);
      return new Result(suite, test, skip ? Status.SKIPPED : Status.PASSED, note);
    }
  }
}
