package io.spindle.rdma;

/**
 * The cause carried by an RDMAP Terminate message (RFC 5040 §4.8, §7.4): which layer found the
 * error, its type and code. Providers that cannot see the Terminate (hardware verbs report only a
 * status) leave it out of the {@link ConnectionEvent}.
 *
 * @param layer {@link #LAYER_RDMAP}, {@link #LAYER_DDP} or {@link #LAYER_LLP}
 * @param errorType the layer's error type
 * @param errorCode the layer's error code
 * @param local true when this side detected the error and sent the Terminate
 */
public record TerminateInfo(int layer, int errorType, int errorCode, boolean local) {

  public static final int LAYER_RDMAP = 0;
  public static final int LAYER_DDP = 1;
  public static final int LAYER_LLP = 2;

  // RFC 5040 §7.4: RDMAP error types and codes.
  public static final int RDMAP_CATASTROPHIC = 0;
  public static final int RDMAP_REMOTE_PROTECTION = 1;
  public static final int RDMAP_REMOTE_OPERATION = 2;
  public static final int RDMAP_INVALID_STAG = 0x00;
  public static final int RDMAP_BASE_BOUNDS = 0x01;
  public static final int RDMAP_ACCESS_RIGHTS = 0x02;
  public static final int RDMAP_STAG_NOT_ASSOCIATED = 0x03;
  public static final int RDMAP_TO_WRAP = 0x04;
  public static final int RDMAP_INVALID_VERSION = 0x05;
  public static final int RDMAP_UNEXPECTED_OPCODE = 0x06;
  public static final int RDMAP_CATASTROPHIC_STREAM = 0x07;
  public static final int RDMAP_CATASTROPHIC_GLOBAL = 0x08;
  public static final int RDMAP_CANNOT_INVALIDATE = 0x09;
  public static final int RDMAP_UNSPECIFIED = 0xff;

  // RFC 5041 §7.2: DDP error types and codes.
  public static final int DDP_CATASTROPHIC = 0;
  public static final int DDP_TAGGED_BUFFER = 1;
  public static final int DDP_UNTAGGED_BUFFER = 2;
  public static final int DDP_TAGGED_INVALID_STAG = 0x00;
  public static final int DDP_TAGGED_BASE_BOUNDS = 0x01;
  public static final int DDP_TAGGED_STAG_NOT_ASSOCIATED = 0x02;
  public static final int DDP_TAGGED_TO_WRAP = 0x03;
  public static final int DDP_TAGGED_INVALID_VERSION = 0x04;
  public static final int DDP_UNTAGGED_INVALID_QN = 0x01;
  public static final int DDP_UNTAGGED_NO_BUFFER = 0x02;
  public static final int DDP_UNTAGGED_INVALID_MSN_RANGE = 0x03;
  public static final int DDP_UNTAGGED_INVALID_MO = 0x04;
  public static final int DDP_UNTAGGED_MESSAGE_TOO_LONG = 0x05;
  public static final int DDP_UNTAGGED_INVALID_VERSION = 0x06;

  // RFC 5044 §8 and RFC 6581 §8: LLP (MPA) error codes, error type 0.
  public static final int LLP_MPA = 0;
  public static final int LLP_CRC_ERROR = 0x02;
  public static final int LLP_MARKER_ERROR = 0x03;
  public static final int LLP_INVALID_REQUEST_REPLY = 0x04;
  public static final int LLP_LOCAL_CATASTROPHIC = 0x05;
  public static final int LLP_INSUFFICIENT_IRD = 0x06;
  public static final int LLP_NO_MATCHING_RTR = 0x07;

  /** True for the errors that mean "you touched memory you were not given". */
  public boolean isProtectionError() {
    return (layer == LAYER_RDMAP && errorType == RDMAP_REMOTE_PROTECTION)
        || (layer == LAYER_DDP && errorType == DDP_TAGGED_BUFFER);
  }

  @Override
  public String toString() {
    String l = switch (layer) {
      case LAYER_RDMAP -> "RDMAP";
      case LAYER_DDP -> "DDP";
      case LAYER_LLP -> "LLP";
      default -> "layer " + layer;
    };
    return (local ? "sent " : "received ") + "Terminate " + l + " type " + errorType + " code 0x"
        + Integer.toHexString(errorCode);
  }
}
