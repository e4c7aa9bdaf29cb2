package io.spindle.scsi.impl;

/**
 * The changeable mode parameters of a logical unit (SPC-4 §7.5, SBC-4 6.5). Values are
 * volatile fields: a MODE SELECT from one session is visible to the next command of any other.
 */
public final class ModePages {

  public static final int CACHING = 0x08;
  public static final int CONTROL = 0x0A;
  public static final int INFORMATIONAL_EXCEPTIONS = 0x1C;
  public static final int ALL_PAGES = 0x3F;

  private volatile boolean wce = true;
  private volatile boolean dSense;
  private volatile boolean swp;

  /** Caching page WCE: write-back caching (SBC-4 6.5.5). When clear every write is forced. */
  public boolean wce() {
    return wce;
  }

  public void wce(boolean v) {
    wce = v;
  }

  /** Control page D_SENSE: descriptor-format sense (SPC-4 §7.5.8). */
  public boolean dSense() {
    return dSense;
  }

  public void dSense(boolean v) {
    dSense = v;
  }

  /** Control page SWP: software write protect. */
  public boolean swp() {
    return swp;
  }

  public void swp(boolean v) {
    swp = v;
  }

  /** Resets to defaults (a logical unit reset does not, but a power-on would). */
  public void defaults() {
    wce = true;
    dSense = false;
    swp = false;
  }
}
