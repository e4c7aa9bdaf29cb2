package io.spindle.iscsi.codec;

/**
 * What the decoder accepts and how it checks digests. Mutable because login changes it:
 * digests and MaxRecvDataSegmentLength take effect once the login phase ends
 * (RFC 7143 §13.12, §13.1). Only touched from the connection's event loop.
 */
public final class CodecLimits {

  /** RFC 7143 §13.12: the MaxRecvDataSegmentLength in force until negotiated, and during login. */
  public static final int DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH = 8192;
  /** RFC 7143 §13.12 upper bound of the key, 2^24 - 1. */
  public static final int MAX_DATA_SEGMENT_LENGTH = (1 << 24) - 1;
  /** AHS bytes accepted at most: enough for an extended CDB (260-byte CDB) and a bidirectional AHS. */
  public static final int DEFAULT_MAX_AHS_LENGTH = 512;

  private volatile boolean headerDigest;
  private volatile boolean dataDigest;
  private volatile int maxRecvDataSegmentLength = DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH;
  private volatile boolean skipBadHeaders;
  private final int maxAhsLength;

  public CodecLimits() {
    this(DEFAULT_MAX_AHS_LENGTH);
  }

  public CodecLimits(int maxAhsLength) {
    if (maxAhsLength < 0 || maxAhsLength > 255 * 4) {
      throw new IllegalArgumentException("maxAhsLength " + maxAhsLength + " is outside 0.." + 255 * 4);
    }
    this.maxAhsLength = maxAhsLength;
  }

  public boolean headerDigest() {
    return headerDigest;
  }

  public boolean dataDigest() {
    return dataDigest;
  }

  public CodecLimits digests(boolean header, boolean data) {
    this.headerDigest = header;
    this.dataDigest = data;
    return this;
  }

  public int maxRecvDataSegmentLength() {
    return maxRecvDataSegmentLength;
  }

  public CodecLimits maxRecvDataSegmentLength(int v) {
    if (v < 512 || v > MAX_DATA_SEGMENT_LENGTH) {
      throw new IllegalArgumentException("MaxRecvDataSegmentLength " + v + " is outside 512.." + MAX_DATA_SEGMENT_LENGTH);
    }
    this.maxRecvDataSegmentLength = v;
    return this;
  }

  /** True when a PDU with a bad header digest is skipped rather than ending the stream (ERL &gt; 0). */
  public boolean skipBadHeaders() {
    return skipBadHeaders;
  }

  public CodecLimits skipBadHeaders(boolean on) {
    this.skipBadHeaders = on;
    return this;
  }

  public int maxAhsLength() {
    return maxAhsLength;
  }
}
