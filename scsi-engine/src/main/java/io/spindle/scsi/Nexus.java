package io.spindle.scsi;

/**
 * An I_T nexus (SAM-5 §4.7): the initiator port and the target port a command came through.
 * For iSCSI the initiator port name is {@code <InitiatorName>,i,0x<ISID>} and the target port
 * name is {@code <TargetName>,t,0x<TPGT>} (RFC 7143 §4.4.2, SAM-5 annex). The engine uses the
 * names for reservations, unit attentions and transport IDs; it never parses iSCSI from them
 * except to build TransportID descriptors (SPC-4 §7.6.4.6).
 *
 * @param initiatorName the initiator device name (iSCSI name)
 * @param initiatorPort the initiator port name, unique per session
 * @param targetPort the target port name
 * @param relativeTargetPort SPC-4 relative target port identifier (1-based)
 */
public record Nexus(String initiatorName, String initiatorPort, String targetPort, int relativeTargetPort) {
}
