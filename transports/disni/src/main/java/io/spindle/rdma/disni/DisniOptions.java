package io.spindle.rdma.disni;

import io.vertx.core.json.JsonObject;

/**
 * Settings of the DiSNI device, from the provider's JSON options (an {@code iser-disni} portal's
 * {@code options}). Queue depths per connection come from the SPI's
 * {@link io.spindle.rdma.QueuePairOptions}; these size what the device shares.
 *
 * @param deviceAddress IP address of the RDMA interface to open: the {@code deviceAddress} option,
 *     else the host of the portal's {@code address} unless it is a wildcard, else (null) the first
 *     IPv4 address of the first RDMA device's network interface
 * @param completionQueueEntries entries of the device's completion queue, shared by all its queue
 *     pairs; a connection is refused when the queues of all connections would not fit
 * @param smallBufferSize registered buffer size for Sends (iSER control PDUs: 76 + 8192 bytes for login)
 * @param largeBufferSize registered buffer size for RDMA Write sources and Read sinks; make it at
 *     least the iSCSI MaxBurstLength so that a Get_Data needs no registration
 * @param buffersPerGrowth buffers registered at once when a pool runs dry
 * @param maxPoolBuffers buffers per pool and protection domain; beyond, buffers are registered
 *     one-off (slow) and freed after use
 * @param maxInlineData Sends up to this size are posted inline (the RNIC copies them from the work
 *     request, saving a DMA read)
 * @param maxSendSge scatter/gather entries per Send or Write (a large Send spans several buffers)
 * @param cmTimeoutMillis address and route resolution timeout
 * @param backlog listen backlog
 */
public record DisniOptions(String deviceAddress, int completionQueueEntries, int smallBufferSize, int largeBufferSize,
    int buffersPerGrowth, int maxPoolBuffers, int maxInlineData, int maxSendSge, int cmTimeoutMillis, int backlog) {

  /** soft-RoCE's largest CQ; hardware allows more. Each connection reserves 2 x send depth + receive depth. */
  public static final int DEFAULT_COMPLETION_QUEUE_ENTRIES = 32767;
  /** iSER header (28) + BHS (48) + largest AHS (1020) + 8192 bytes of login data, rounded up. */
  public static final int DEFAULT_SMALL_BUFFER_SIZE = 9472;
  /** Linux's default MaxBurstLength (262144). */
  public static final int DEFAULT_LARGE_BUFFER_SIZE = 256 * 1024;
  public static final int DEFAULT_BUFFERS_PER_GROWTH = 16;
  public static final int DEFAULT_MAX_POOL_BUFFERS = 512;
  public static final int DEFAULT_MAX_INLINE_DATA = 64;
  public static final int DEFAULT_MAX_SEND_SGE = 4;
  public static final int DEFAULT_CM_TIMEOUT_MILLIS = 2000;
  public static final int DEFAULT_BACKLOG = 128;

  public DisniOptions {
    positive("completionQueueEntries", completionQueueEntries);
    if (smallBufferSize < 128) throw new IllegalArgumentException("smallBufferSize: " + smallBufferSize + " is below 128");
    if (largeBufferSize < smallBufferSize) {
      throw new IllegalArgumentException("largeBufferSize: " + largeBufferSize + " is below smallBufferSize");
    }
    positive("buffersPerGrowth", buffersPerGrowth);
    positive("maxPoolBuffers", maxPoolBuffers);
    if (maxInlineData < 0) throw new IllegalArgumentException("maxInlineData: " + maxInlineData + " is negative");
    positive("maxSendSge", maxSendSge);
    positive("cmTimeoutMillis", cmTimeoutMillis);
    positive("backlog", backlog);
  }

  private static void positive(String name, int v) {
    if (v < 1) throw new IllegalArgumentException(name + ": " + v + " must be at least 1");
  }

  /** The RDMA interface: explicit, or the portal's own host ({@code "HOST:PORT"}, IPv6 in brackets). */
  static String deviceAddress(JsonObject json) {
    String explicit = json.getString("deviceAddress");
    if (explicit != null) return explicit;
    Object portal = json.getValue("address");
    if (!(portal instanceof String s) || s.isEmpty()) return null;
    String host;
    if (s.startsWith("[")) {
      int end = s.indexOf(']');
      host = end < 0 ? s : s.substring(1, end);
    } else {
      int colon = s.lastIndexOf(':');
      host = colon < 0 || s.indexOf(':') != colon ? s : s.substring(0, colon);
    }
    return host.isEmpty() || host.equals("0.0.0.0") || host.equals("::") || host.equals("*") ? null : host;
  }

  public static DisniOptions defaults() {
    return fromJson(new JsonObject());
  }

  public static DisniOptions fromJson(JsonObject json) {
    return new DisniOptions(deviceAddress(json),
        json.getInteger("completionQueueEntries", DEFAULT_COMPLETION_QUEUE_ENTRIES),
        json.getInteger("smallBufferSize", DEFAULT_SMALL_BUFFER_SIZE),
        json.getInteger("largeBufferSize", DEFAULT_LARGE_BUFFER_SIZE),
        json.getInteger("buffersPerGrowth", DEFAULT_BUFFERS_PER_GROWTH),
        json.getInteger("maxPoolBuffers", DEFAULT_MAX_POOL_BUFFERS),
        json.getInteger("maxInlineData", DEFAULT_MAX_INLINE_DATA),
        json.getInteger("maxSendSge", DEFAULT_MAX_SEND_SGE),
        json.getInteger("cmTimeoutMillis", DEFAULT_CM_TIMEOUT_MILLIS),
        json.getInteger("backlog", DEFAULT_BACKLOG));
  }
}
