package io.spindle.transport.iser;

import io.spindle.rdma.QueuePairOptions;
import io.vertx.core.json.JsonObject;

/**
 * Settings of an iSER portal.
 *
 * @param provider the RDMA provider ({@code iwarp}, {@code disni})
 * @param headerFormat RFC 7145 (28 bytes, default) or RFC 5046 (12 bytes)
 * @param receiveBuffers receive buffers posted per connection: how many unexpected PDUs
 *     (commands, NOP-Outs, ...) the initiator may have in flight (RFC 7145 MaxOutstandingUnexpectedPDUs)
 * @param maxRecvDataSegmentLength largest data segment the target accepts in a Send: login PDUs
 *     need 8192 (RFC 7145 §6.3); TargetRecvDataSegmentLength may not exceed it
 * @param sendWithInvalidate whether the target may answer with Send with Invalidate when the
 *     initiator allows it
 * @param ird RDMA Reads the initiator may issue towards us (ib_iser issues none)
 * @param ord RDMA Reads the target keeps outstanding for Data-Out
 * @param closeWaitMillis how long a closing connection waits for its queued work requests to
 *     complete and, after a Logout Response, for the initiator to disconnect first (RFC 7143
 *     §11.15: the initiator closes); then the target disconnects itself
 */
public record IserOptions(String provider, IserHeader.Format headerFormat, int receiveBuffers,
    int maxRecvDataSegmentLength, boolean sendWithInvalidate, int ird, int ord, long closeWaitMillis) {

  public static final String DEFAULT_PROVIDER = "iwarp";
  public static final IserHeader.Format DEFAULT_HEADER_FORMAT = IserHeader.Format.RFC7145;
  public static final int DEFAULT_RECEIVE_BUFFERS = 64;
  /** RFC 7145 §6.3: login PDUs carry up to 8192 bytes of data. */
  public static final int DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH = 8192;
  public static final boolean DEFAULT_SEND_WITH_INVALIDATE = true;
  public static final int DEFAULT_IRD = 1;
  public static final int DEFAULT_ORD = QueuePairOptions.DEFAULT_ORD;
  /** Linux ib_iser disconnects within milliseconds of the Logout Response; 5 s bounds a silent one. */
  public static final long DEFAULT_CLOSE_WAIT_MILLIS = 5000;

  public IserOptions {
    if (receiveBuffers < 2) throw new IllegalArgumentException("receiveBuffers: " + receiveBuffers + " must be at least 2");
    if (maxRecvDataSegmentLength < 8192) {
      throw new IllegalArgumentException("maxRecvDataSegmentLength: " + maxRecvDataSegmentLength
          + " is below the 8192 bytes login needs");
    }
    if (closeWaitMillis < 1) throw new IllegalArgumentException("closeWaitMillis: " + closeWaitMillis + " must be at least 1");
  }

  public static IserOptions defaults() {
    return fromJson(new JsonObject());
  }

  public static IserOptions fromJson(JsonObject json) {
    String format = json.getString("headerFormat", DEFAULT_HEADER_FORMAT.name());
    return new IserOptions(json.getString("provider", DEFAULT_PROVIDER), IserHeader.Format.valueOf(format),
        json.getInteger("receiveBuffers", DEFAULT_RECEIVE_BUFFERS),
        json.getInteger("maxRecvDataSegmentLength", DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH),
        json.getBoolean("sendWithInvalidate", DEFAULT_SEND_WITH_INVALIDATE), json.getInteger("ird", DEFAULT_IRD),
        json.getInteger("ord", DEFAULT_ORD), json.getLong("closeWaitMillis", DEFAULT_CLOSE_WAIT_MILLIS));
  }

  QueuePairOptions queuePairOptions() {
    return new QueuePairOptions().ird(ird).ord(ord).receiveQueueDepth(receiveBuffers)
        .sendQueueDepth(Math.max(QueuePairOptions.DEFAULT_SEND_QUEUE_DEPTH, 4 * receiveBuffers));
  }
}
