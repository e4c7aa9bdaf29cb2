package io.spindle.rdma.iwarp;

/**
 * A stream error found while framing, before the segment reached RDMAP: becomes a Terminate
 * (RFC 5040 §7.1) with this layer, type and code, then the stream ends.
 */
record IwarpError(int layer, int errorType, int errorCode, String reason) {
}
