package io.spindle.iscsi.negotiation;

/** Where a negotiation happens: the login stages (CSG/NSG, RFC 7143 §11.12.3) or Full Feature Phase Text. */
public enum Stage {
  SECURITY(0), OPERATIONAL(1), FULL_FEATURE(3);

  /** The CSG/NSG code of the stage. */
  public final int code;

  Stage(int code) {
    this.code = code;
  }

  /** The stage for a CSG or NSG field value, or null for the reserved value 2. */
  public static Stage of(int code) {
    switch (code & 3) {
      case 0: return SECURITY;
      case 1: return OPERATIONAL;
      case 3: return FULL_FEATURE;
      default: return null;
    }
  }
}
