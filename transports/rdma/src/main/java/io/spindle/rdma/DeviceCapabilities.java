package io.spindle.rdma;

/**
 * What a device supports.
 *
 * @param maxIrd largest inbound RDMA Read queue depth a queue pair may ask for
 * @param maxOrd largest outbound RDMA Read queue depth
 * @param maxPrivateData largest ULP private data in a connect, accept or reject
 * @param maxQueueDepth largest send or receive queue depth
 * @param maxMessageSize largest Send, RDMA Write or RDMA Read in bytes
 * @param sendWithInvalidate whether Send with Invalidate can be posted and is honoured on receipt
 */
public record DeviceCapabilities(int maxIrd, int maxOrd, int maxPrivateData, int maxQueueDepth, int maxMessageSize,
    boolean sendWithInvalidate) {
}
