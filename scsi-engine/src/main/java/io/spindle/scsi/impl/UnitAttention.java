package io.spindle.scsi.impl;

/** A pending unit attention condition (SAM-5 §5.14): its additional sense code. */
record UnitAttention(int asc, int ascq) {
  static final UnitAttention BUS_DEVICE_RESET = new UnitAttention(0x29, 0x03);
  static final UnitAttention I_T_NEXUS_LOSS = new UnitAttention(0x29, 0x07);
  static final UnitAttention MODE_PARAMETERS_CHANGED = new UnitAttention(0x2A, 0x01);
  static final UnitAttention RESERVATIONS_PREEMPTED = new UnitAttention(0x2A, 0x03);
  static final UnitAttention RESERVATIONS_RELEASED = new UnitAttention(0x2A, 0x04);
  static final UnitAttention REGISTRATIONS_PREEMPTED = new UnitAttention(0x2A, 0x05);
  static final UnitAttention CAPACITY_DATA_HAS_CHANGED = new UnitAttention(0x2A, 0x09);
  static final UnitAttention REPORTED_LUNS_DATA_HAS_CHANGED = new UnitAttention(0x3F, 0x0E);

  CheckCondition toCheckCondition() {
    return CheckCondition.of(SenseData.UNIT_ATTENTION, asc, ascq);
  }
}
