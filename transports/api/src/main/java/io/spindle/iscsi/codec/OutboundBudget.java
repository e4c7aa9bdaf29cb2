package io.spindle.iscsi.codec;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.util.concurrent.ScheduledFuture;
import io.spindle.iscsi.datamover.OutboundLimit;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Outbound backpressure of one byte-stream connection (issue 21). Netty counts what the channel
 * holds unsent — each PDU's header, data and its per-message overhead, so a flood of tiny PDUs
 * counts too — against the {@link OutboundLimit}'s water mark. Over it, the owner stops reading
 * from the peer: nothing new is decoded, so no new response is made, and what the target holds is
 * the bound plus what was already in flight (the command window). Back under half of it, reading
 * resumes. A peer that stays over the bound for the limit's stall time does not read what it
 * asked for, and is closed with a WARN naming it.
 *
 * <p>A pipeline handler: runs on the channel's event loop, like every call into it.
 */
public final class OutboundBudget extends ChannelInboundHandlerAdapter {

  private static final Logger log = LoggerFactory.getLogger("io.spindle.iscsi");

  /** What the owner does when the budget turns over or back under. */
  public interface Owner {
    /** Stop ({@code true}) or resume ({@code false}) reading from the peer. */
    void readingPaused(boolean paused);

    /** The peer stayed over the bound too long; the budget closes the channel right after. */
    void stalled(String reason);
  }

  private final String peer;
  private final Owner owner;
  private ChannelHandlerContext ctx;
  private OutboundLimit limit = OutboundLimit.LOGIN;
  private boolean over;
  private long overSince;
  private ScheduledFuture<?> stallTimer;
  private long pauses;

  public OutboundBudget(String peer, Owner owner) {
    this.peer = peer;
    this.owner = owner;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    apply();
  }

  /** Sets the bound; takes effect at once (a lower one may pause reading now). */
  public void limit(OutboundLimit l) {
    this.limit = l;
    if (ctx != null) apply();
  }

  public OutboundLimit limit() {
    return limit;
  }

  /** True while reading is stopped because the peer left too much unread. */
  public boolean over() {
    return over;
  }

  /** How many times reading stopped, for the log and tests. */
  public long pauses() {
    return pauses;
  }

  private void apply() {
    long high = Math.min(limit.bytes(), Integer.MAX_VALUE);
    ctx.channel().config().setWriteBufferWaterMark(new WriteBufferWaterMark((int) (high / 2), (int) high));
    changed();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    changed();
    ctx.fireChannelWritabilityChanged();
  }

  private void changed() {
    boolean nowOver = !ctx.channel().isWritable();
    if (nowOver == over) return;
    over = nowOver;
    if (over) {
      overSince = System.nanoTime();
      if (pauses++ == 0) {
        log.info("peer={} leaves {} bytes unread (bound {}): not reading from it until it drains to half",
            peer, ctx.channel().unsafe().outboundBuffer() == null ? 0
                : ctx.channel().unsafe().outboundBuffer().totalPendingWriteBytes(), limit.bytes());
      }
      stallTimer = ctx.executor().schedule(this::stallCheck, limit.stallMillis(), TimeUnit.MILLISECONDS);
      owner.readingPaused(true);
    } else {
      if (stallTimer != null) stallTimer.cancel(false);
      stallTimer = null;
      owner.readingPaused(false);
    }
  }

  private void stallCheck() {
    if (!over || !ctx.channel().isActive()) return;
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - overSince);
    log.warn("peer={} left more than {} bytes of responses unread for {} ms (stopped {} times); closing",
        peer, limit.bytes() / 2, ms, pauses);
    owner.stalled("outbound bound of " + limit.bytes() + " bytes exceeded for " + ms + " ms");
    // From this handler toward the head: a close from the tail passes Vert.x's handler, which waits
    // for the unsent bytes to leave first, and this peer does not read them.
    ctx.close();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (stallTimer != null) stallTimer.cancel(false);
    ctx.fireChannelInactive();
  }
}
