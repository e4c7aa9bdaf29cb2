package io.spindle.initiator.leak;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Counts the reports of Netty's leak detector ("LEAK: ..." from {@code io.netty.util.ResourceLeakDetector}),
 * so that {@link NoLeaksExtension} can fail the test run on any of them. Configured in logback-test.xml.
 */
public final class LeakReportAppender extends AppenderBase<ILoggingEvent> {

  private static final AtomicInteger reports = new AtomicInteger();
  private static final AtomicReference<String> first = new AtomicReference<>();

  @Override
  protected void append(ILoggingEvent event) {
    String message = event.getFormattedMessage();
    if (message == null || !message.startsWith("LEAK:")) return;
    reports.incrementAndGet();
    first.compareAndSet(null, message);
  }

  /** Leak reports so far in this JVM. */
  public static int reports() {
    return reports.get();
  }

  /** The first report, with its access records, or null. */
  public static String firstReport() {
    return first.get();
  }
}
