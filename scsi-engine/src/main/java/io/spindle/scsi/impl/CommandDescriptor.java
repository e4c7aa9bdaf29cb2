package io.spindle.scsi.impl;

/**
 * One row of the opcode table: how a command is dispatched and how REPORT SUPPORTED
 * OPERATION CODES describes it (SPC-4 §6.35).
 *
 * @param opcode operation code
 * @param serviceAction service action, or -1 when the opcode has none
 * @param name command name as the standard spells it
 * @param standard the defining section ("SBC-4 5.8")
 * @param usage the CDB usage data: byte 0 the opcode, then which bits the device server looks at
 * @param flags {@link #NO_LU}, {@link #UA_EXEMPT}, {@link #RESERVATION_EXEMPT}
 */
public record CommandDescriptor(int opcode, int serviceAction, String name, String standard, byte[] usage,
    int flags, CommandHandler handler) {

  /** Serviced even when the LUN addresses no logical unit (SPC-4 §4.6.1: INQUIRY, REPORT LUNS, REQUEST SENSE). */
  public static final int NO_LU = 1;
  /** Not failed by a pending unit attention (SAM-5 §5.14). */
  public static final int UA_EXEMPT = 2;
  /** Allowed while another nexus holds an SPC-2 reservation (SPC-2 §5.5.1, table 10). */
  public static final int RESERVATION_EXEMPT = 4;

  /** Reads the medium: blocked by EXCLUSIVE ACCESS persistent reservations (SPC-4 table 52). */
  public static final int MEDIUM_READ = 8;
  /** Changes the medium or LU state: blocked by WRITE EXCLUSIVE and EXCLUSIVE ACCESS. */
  public static final int MEDIUM_WRITE = 16;
  /** Needs the medium: NOT READY / MEDIUM NOT PRESENT while a removable medium is ejected (SBC-4 4.17). */
  public static final int NEEDS_MEDIUM = 32;

  public int cdbLength() {
    return usage.length;
  }

  public boolean has(int flag) {
    return (flags & flag) != 0;
  }
}
