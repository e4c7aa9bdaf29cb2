/**
 * The RDMA provider SPI: what the iSER datamover needs from an RNIC, independent of whether the
 * RNIC is the software iWARP stack ({@code transports/iwarp}) or hardware verbs through DiSNI.
 *
 * <p>The model follows the verbs of RFC 5040 (RDMAP) and the connection management of rdma_cm /
 * MPA (RFC 5044, RFC 6581): a {@link io.spindle.rdma.RdmaProvider} opens an
 * {@link io.spindle.rdma.RdmaDevice}; memory is registered in a
 * {@link io.spindle.rdma.ProtectionDomain} and named to peers by STag; an
 * {@link io.spindle.rdma.RdmaConnection} is one queue pair on one connection, whose work requests
 * complete with {@link io.spindle.rdma.WorkCompletion} records and whose state changes arrive as
 * {@link io.spindle.rdma.ConnectionEvent}s, both on the connection's Vert.x context.
 *
 * <p>Every provider must pass the TCK in the {@code spindle-rdma-spi} test-jar
 * ({@code io.spindle.rdma.tck.RdmaProviderTck}).
 */
package io.spindle.rdma;
