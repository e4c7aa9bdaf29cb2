package io.spindle.rdma.iwarp;

import io.vertx.core.json.JsonObject;

/**
 * Settings of the software iWARP device, from the provider's JSON options.
 *
 * @param mpaRevision MPA revision this side asks for: 1 (RFC 5044) or 2 (RFC 6581, IRD/ORD exchange)
 * @param crc require CRC32c on FPDUs (it is used when either side asks, RFC 5044 §7.1)
 * @param peerToPeer RFC 6581 peer-to-peer mode: the initiator sends a zero-length RDMA Write as
 *     ready-to-receive so the responder may send first; only when both ends agree
 * @param mulpdu largest ULPDU (DDP segment) this side sends; FPDUs stay within 64 KiB
 * @param maxPrivateData largest ULP private data accepted from the application
 * @param mpaTimeoutMillis how long MPA negotiation (and the passive side's accept decision) may take
 * @param instances listener verticles per listen address (one event loop each)
 */
public record IwarpOptions(int mpaRevision, boolean crc, boolean peerToPeer, int mulpdu, int maxPrivateData,
    long mpaTimeoutMillis, int instances) {

  public static final int DEFAULT_MPA_REVISION = 2;
  /** Linux siw's default (mpa_crc_required=false). */
  public static final boolean DEFAULT_CRC = false;
  public static final boolean DEFAULT_PEER_TO_PEER = true;
  /** Multiple of 4 so that header, payload and pad fill 65528 bytes with the CRC. */
  public static final int DEFAULT_MULPDU = 65520;
  /** siw refuses PD_Length above 256, the 4-byte IRD/ORD block included. */
  public static final int DEFAULT_MAX_PRIVATE_DATA = 252;
  public static final long DEFAULT_MPA_TIMEOUT_MILLIS = 10_000;
  public static final int DEFAULT_INSTANCES = Runtime.getRuntime().availableProcessors();

  public IwarpOptions {
    if (mpaRevision != 1 && mpaRevision != 2) {
      throw new IllegalArgumentException("mpaRevision: " + mpaRevision + " must be 1 or 2");
    }
    if (mulpdu < 64 || mulpdu > Fpdu.MAX_ULPDU_LENGTH) {
      throw new IllegalArgumentException("mulpdu: " + mulpdu + " is outside 64.." + Fpdu.MAX_ULPDU_LENGTH);
    }
    if (maxPrivateData < 0 || maxPrivateData > MpaFrame.MAX_PRIVATE_DATA - 4) {
      throw new IllegalArgumentException("maxPrivateData: " + maxPrivateData + " is outside 0..508");
    }
    if (mpaTimeoutMillis < 1) throw new IllegalArgumentException("mpaTimeoutMillis must be positive");
    if (instances < 1) throw new IllegalArgumentException("instances: " + instances + " must be at least 1");
  }

  public static IwarpOptions defaults() {
    return fromJson(new JsonObject());
  }

  public static IwarpOptions fromJson(JsonObject json) {
    return new IwarpOptions(json.getInteger("mpaRevision", DEFAULT_MPA_REVISION),
        json.getBoolean("crc", DEFAULT_CRC), json.getBoolean("peerToPeer", DEFAULT_PEER_TO_PEER),
        json.getInteger("mulpdu", DEFAULT_MULPDU), json.getInteger("maxPrivateData", DEFAULT_MAX_PRIVATE_DATA),
        json.getLong("mpaTimeoutMillis", DEFAULT_MPA_TIMEOUT_MILLIS), json.getInteger("instances", DEFAULT_INSTANCES));
  }
}
