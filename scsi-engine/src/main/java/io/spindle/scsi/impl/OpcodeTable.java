package io.spindle.scsi.impl;

import static io.spindle.scsi.impl.CommandDescriptor.MEDIUM_READ;
import static io.spindle.scsi.impl.CommandDescriptor.MEDIUM_WRITE;
import static io.spindle.scsi.impl.CommandDescriptor.NEEDS_MEDIUM;
import static io.spindle.scsi.impl.CommandDescriptor.NO_LU;
import static io.spindle.scsi.impl.CommandDescriptor.RESERVATION_EXEMPT;
import static io.spindle.scsi.impl.CommandDescriptor.UA_EXEMPT;

import io.spindle.scsi.impl.sbc.SanitizeCommand;
import io.spindle.scsi.impl.sbc.SbcCommands;
import io.spindle.scsi.impl.spc.ModeCommands;
import io.spindle.scsi.impl.spc.PersistentReserveCommands;
import io.spindle.scsi.impl.spc.SpcCommands;
import io.spindle.scsi.impl.xcopy.ExtendedCopyCommand;
import io.spindle.scsi.impl.xcopy.ReceiveCopyResultsCommand;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The one table of supported commands: dispatch, REPORT SUPPORTED OPERATION CODES and the
 * supported-commands documentation all read it. Usage masks are the CDB usage data of SPC-4
 * §6.35.3 (byte 0 the opcode, then the bits the device server examines).
 */
public final class OpcodeTable {

  private static final List<CommandDescriptor> ALL = new ArrayList<>();
  private static final Map<Integer, CommandDescriptor> BY_KEY = new HashMap<>();
  private static final Set<Integer> WITH_SERVICE_ACTION = new HashSet<>();
  /** The same facts indexed by opcode, for the per-command path (no boxing, no hashing). */
  private static final boolean[] SERVICE_ACTION_OPCODE = new boolean[256];
  private static final CommandDescriptor[] BY_OPCODE = new CommandDescriptor[256];

  static {
    int info = NO_LU | UA_EXEMPT | RESERVATION_EXEMPT;
    int read = MEDIUM_READ | NEEDS_MEDIUM;
    int write = MEDIUM_WRITE | NEEDS_MEDIUM;
    add(0x00, -1, "TEST UNIT READY", "SPC-4 6.47", "00 00 00 00 00 07", NEEDS_MEDIUM, SpcCommands::testUnitReady);
    add(0x03, -1, "REQUEST SENSE", "SPC-4 6.39", "03 01 00 00 ff 07", info, SpcCommands::requestSense);
    add(0x08, -1, "READ(6)", "SBC-4 5.13", "08 1f ff ff ff 07", read, SbcCommands::read6);
    add(0x0A, -1, "WRITE(6)", "SBC-4 5.37", "0a 1f ff ff ff 07", write, SbcCommands::write6);
    add(0x12, -1, "INQUIRY", "SPC-4 6.6", "12 01 ff ff ff 07", info, SpcCommands::inquiry);
    add(0x15, -1, "MODE SELECT(6)", "SPC-4 6.9", "15 11 00 00 ff 07", MEDIUM_WRITE, ModeCommands::modeSelect6);
    add(0x16, -1, "RESERVE(6)", "SPC-2 7.21", "16 00 00 00 00 07", 0, SpcCommands::reserve);
    add(0x17, -1, "RELEASE(6)", "SPC-2 7.16", "17 00 00 00 00 07", RESERVATION_EXEMPT, SpcCommands::release);
    add(0x1A, -1, "MODE SENSE(6)", "SPC-4 6.11", "1a 08 ff ff ff 07", MEDIUM_READ, ModeCommands::modeSense6);
    add(0x1B, -1, "START STOP UNIT", "SBC-4 5.25", "1b 01 00 0f f7 07", MEDIUM_WRITE, SpcCommands::startStopUnit);
    add(0x1E, -1, "PREVENT ALLOW MEDIUM REMOVAL", "SBC-4 5.11", "1e 00 00 00 03 07", MEDIUM_WRITE,
        SpcCommands::preventAllow);
    add(0x25, -1, "READ CAPACITY(10)", "SBC-4 5.15", "25 00 ff ff ff ff 00 00 01 07", NEEDS_MEDIUM,
        SbcCommands::readCapacity10);
    add(0x28, -1, "READ(10)", "SBC-4 5.14", "28 fe ff ff ff ff 1f ff ff 07", read, SbcCommands::read10);
    add(0x2A, -1, "WRITE(10)", "SBC-4 5.38", "2a fa ff ff ff ff 1f ff ff 07", write, SbcCommands::write10);
    add(0x2E, -1, "WRITE AND VERIFY(10)", "SBC-4 5.41", "2e f6 ff ff ff ff 1f ff ff 07", write,
        SbcCommands::writeVerify10);
    add(0x2F, -1, "VERIFY(10)", "SBC-4 5.33", "2f f6 ff ff ff ff 1f ff ff 07", read, SbcCommands::verify10);
    add(0x34, -1, "PRE-FETCH(10)", "SBC-4 5.10", "34 02 ff ff ff ff 1f ff ff 07", read, SbcCommands::preFetch10);
    add(0x35, -1, "SYNCHRONIZE CACHE(10)", "SBC-4 5.26", "35 06 ff ff ff ff 1f ff ff 07", write,
        SbcCommands::synchronizeCache10);
    add(0x37, -1, "READ DEFECT DATA(10)", "SBC-4 5.17", "37 00 1f 00 00 00 00 ff ff 07", MEDIUM_READ,
        SbcCommands::readDefectData10);
    add(0x41, -1, "WRITE SAME(10)", "SBC-4 5.49", "41 e8 ff ff ff ff 1f ff ff 07", write, SbcCommands::writeSame10);
    add(0x42, -1, "UNMAP", "SBC-4 5.32", "42 00 00 00 00 00 1f ff ff 07", write, SbcCommands::unmap);
    for (int sa : new int[] {0x01, 0x02, 0x03, 0x1F}) {
      add(0x48, sa, "SANITIZE / " + SanitizeCommand.name(sa), "SBC-4 5.30",
          "48 " + String.format("%02x", 0x80 | 0x20 | sa) + " 00 00 00 00 00 ff ff 07", write, SanitizeCommand::sanitize);
    }
    add(0x55, -1, "MODE SELECT(10)", "SPC-4 6.10", "55 11 00 00 00 00 00 ff ff 07", MEDIUM_WRITE, ModeCommands::modeSelect10);
    add(0x56, -1, "RESERVE(10)", "SPC-2 7.22", "56 00 00 00 00 00 00 00 00 07", 0, SpcCommands::reserve);
    add(0x57, -1, "RELEASE(10)", "SPC-2 7.17", "57 00 00 00 00 00 00 00 00 07", RESERVATION_EXEMPT,
        SpcCommands::release);
    add(0x5A, -1, "MODE SENSE(10)", "SPC-4 6.12", "5a 18 ff ff 00 00 00 ff ff 07", MEDIUM_READ, ModeCommands::modeSense10);
    // SPC-4 §6.4 / §6.18: third-party copy, LID1 only (the copy manager is in every LU).
    add(0x83, 0x00, "EXTENDED COPY(LID1)", "SPC-4 6.4", "83 00 00 00 00 00 00 00 00 00 ff ff ff ff 00 07",
        write, ExtendedCopyCommand::extendedCopy);
    for (int sa : new int[] {0x00, 0x03}) {
      add(0x84, sa, "RECEIVE COPY RESULTS / " + ReceiveCopyResultsCommand.name(sa), "SPC-4 6.18",
          "84 " + String.format("%02x", sa) + " ff 00 00 00 00 00 00 00 ff ff ff ff 00 07", MEDIUM_READ,
          ReceiveCopyResultsCommand::receiveCopyResults);
    }
    add(0x88, -1, "READ(16)", "SBC-4 5.15", "88 fe ff ff ff ff ff ff ff ff ff ff ff ff 3f 07", read,
        SbcCommands::read16);
    add(0x89, -1, "COMPARE AND WRITE", "SBC-4 5.3", "89 fa ff ff ff ff ff ff ff ff 00 00 00 ff 3f 07", write,
        SbcCommands::compareAndWrite);
    add(0x8A, -1, "WRITE(16)", "SBC-4 5.40", "8a fa ff ff ff ff ff ff ff ff ff ff ff ff 3f 07", write,
        SbcCommands::write16);
    add(0x8B, -1, "ORWRITE(16)", "SBC-4 5.9", "8b fa ff ff ff ff ff ff ff ff ff ff ff ff 3f 07", write,
        SbcCommands::orWrite16);
    add(0x8E, -1, "WRITE AND VERIFY(16)", "SBC-4 5.43", "8e f6 ff ff ff ff ff ff ff ff ff ff ff ff 3f 07", write,
        SbcCommands::writeVerify16);
    add(0x8F, -1, "VERIFY(16)", "SBC-4 5.35", "8f f6 ff ff ff ff ff ff ff ff ff ff ff ff 3f 07", read,
        SbcCommands::verify16);
    add(0x90, -1, "PRE-FETCH(16)", "SBC-4 5.11", "90 02 ff ff ff ff ff ff ff ff ff ff ff ff 3f 07", read,
        SbcCommands::preFetch16);
    add(0x91, -1, "SYNCHRONIZE CACHE(16)", "SBC-4 5.27", "91 06 ff ff ff ff ff ff ff ff ff ff ff ff 3f 07", write,
        SbcCommands::synchronizeCache16);
    add(0x93, -1, "WRITE SAME(16)", "SBC-4 5.50", "93 e9 ff ff ff ff ff ff ff ff ff ff ff ff 3f 07", write,
        SbcCommands::writeSame16);
    add(0x9C, -1, "WRITE ATOMIC(16)", "SBC-4 5.48", "9c f8 ff ff ff ff ff ff ff ff ff ff ff ff 3f 07", write,
        SbcCommands::writeAtomic16);
    add(0x9E, 0x10, "READ CAPACITY(16)", "SBC-4 5.16", "9e 10 ff ff ff ff ff ff ff ff ff ff ff ff 00 07", NEEDS_MEDIUM,
        SbcCommands::readCapacity16);
    add(0x9E, 0x12, "GET LBA STATUS", "SBC-4 5.7", "9e 12 ff ff ff ff ff ff ff ff ff ff ff ff 00 07", read,
        SbcCommands::getLbaStatus);
    add(0xA0, -1, "REPORT LUNS", "SPC-4 6.33", "a0 00 ff 00 00 00 ff ff ff ff 00 07", info, SpcCommands::reportLuns);
    add(0xA3, 0x0C, "REPORT SUPPORTED OPERATION CODES", "SPC-4 6.35", "a3 0c 87 ff ff ff ff ff ff ff 00 07",
        RESERVATION_EXEMPT, SpcCommands::reportSupportedOpcodes);
    add(0xA3, 0x0D, "REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS", "SPC-4 6.36",
        "a3 0d 80 00 00 00 ff ff ff ff 00 07", RESERVATION_EXEMPT, SpcCommands::reportSupportedTmf);
    for (int sa = 0; sa <= 3; sa++) {
      add(0x5E, sa, "PERSISTENT RESERVE IN / " + PersistentReserveCommands.inName(sa), "SPC-4 6.15",
          "5e " + String.format("%02x", sa) + " 00 00 00 00 00 ff ff 07", RESERVATION_EXEMPT, PersistentReserveCommands::in);
    }
    for (int sa = 0; sa <= 7; sa++) {
      add(0x5F, sa, "PERSISTENT RESERVE OUT / " + PersistentReserveCommands.outName(sa), "SPC-4 6.16",
          "5f " + String.format("%02x", sa) + " ff 00 00 ff ff ff ff 07", RESERVATION_EXEMPT,
          PersistentReserveCommands::out);
    }
    add(0xB7, -1, "READ DEFECT DATA(12)", "SBC-4 5.18", "b7 1f 00 00 00 00 ff ff ff ff 00 07", MEDIUM_READ,
        SbcCommands::readDefectData12);
    add(0xAA, -1, "WRITE(12)", "SBC-4 5.39", "aa fa ff ff ff ff ff ff ff ff 1f 07", write, SbcCommands::write12);
    add(0xA8, -1, "READ(12)", "SBC-4 5.14", "a8 fe ff ff ff ff ff ff ff ff 1f 07", read, SbcCommands::read12);
    add(0xAE, -1, "WRITE AND VERIFY(12)", "SBC-4 5.42", "ae f6 ff ff ff ff ff ff ff ff 1f 07", write,
        SbcCommands::writeVerify12);
    add(0xAF, -1, "VERIFY(12)", "SBC-4 5.34", "af f6 ff ff ff ff ff ff ff ff 1f 07", read, SbcCommands::verify12);
  }

  private OpcodeTable() {
  }

  private static void add(int opcode, int sa, String name, String section, String usage, int flags,
      CommandHandler h) {
    String[] hex = usage.split(" ");
    byte[] u = new byte[hex.length];
    for (int i = 0; i < hex.length; i++) u[i] = (byte) Integer.parseInt(hex[i], 16);
    CommandDescriptor d = new CommandDescriptor(opcode, sa, name, section, u, flags, h);
    ALL.add(d);
    BY_KEY.put(key(opcode, sa), d);
    if (sa >= 0) {
      WITH_SERVICE_ACTION.add(opcode);
      SERVICE_ACTION_OPCODE[opcode & 0xFF] = true;
    } else {
      BY_OPCODE[opcode & 0xFF] = d;
    }
  }

  private static int key(int opcode, int sa) {
    return (opcode << 16) | (sa & 0xFFFF);
  }

  /** Every supported command, in table order. */
  public static List<CommandDescriptor> all() {
    return Collections.unmodifiableList(ALL);
  }

  public static boolean hasServiceActions(int opcode) {
    return opcode >= 0 && opcode < 256 ? SERVICE_ACTION_OPCODE[opcode] : WITH_SERVICE_ACTION.contains(opcode);
  }

  /** By opcode and service action (-1 for opcodes without service actions). */
  public static CommandDescriptor lookup(int opcode, int serviceAction) {
    return BY_KEY.get(key(opcode, hasServiceActions(opcode) ? serviceAction : -1));
  }

  /** The descriptor for a CDB, or null when unsupported. */
  public static CommandDescriptor find(int opcode, byte[] cdb) {
    if (opcode >= 0 && opcode < 256 && !SERVICE_ACTION_OPCODE[opcode]) return BY_OPCODE[opcode];
    return lookup(opcode, hasServiceActions(opcode) ? cdb[1] & 0x1F : -1);
  }

  static boolean serviceActionKnown(int opcode, byte[] cdb) {
    return find(opcode, cdb) != null;
  }

  /** The CHECK CONDITION for an unsupported CDB (SPC-4 §4.5.6). */
  static CheckCondition unsupported(int opcode, byte[] cdb) {
    if (hasServiceActions(opcode)) return CheckCondition.invalidCdbField(1, 4);
    return CheckCondition.invalidOpcode();
  }

  public static String name(int opcode) {
    for (CommandDescriptor d : ALL) {
      if (d.opcode() == opcode) return d.name();
    }
    return String.format("opcode %02Xh", opcode);
  }
}
