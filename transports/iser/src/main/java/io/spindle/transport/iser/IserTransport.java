package io.spindle.transport.iser;

import io.spindle.iscsi.datamover.DatamoverConnection;
import io.spindle.iscsi.datamover.PortalAddress;
import io.spindle.iscsi.datamover.Transport;
import io.spindle.rdma.ConnectionRequest;
import io.spindle.rdma.ProtectionDomain;
import io.spindle.rdma.RdmaConnection;
import io.spindle.rdma.RdmaDevice;
import io.spindle.rdma.RdmaListener;
import io.spindle.rdma.RdmaProvider;
import io.spindle.rdma.StreamingConnection;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * iSER portals (RFC 7145) on an RDMA provider. A portal opens its own device, listens, and for
 * each connection request: reads the initiator's iSER CM private data, creates the queue pair,
 * posts the receive ring, accepts with the target's private data (as Linux isert does: ZBVA not
 * used, Send with Invalidate not used unless both ends allow it) and hands the datamover to the
 * iSCSI layer. Login then runs in iSER-assisted mode: the Login Request arrives as the first Send.
 *
 * <p>The same portal serves the RFC 5046 connection style: a connection whose first bytes are not an
 * MPA Request but an iSCSI Login Request logs in in byte-stream mode and moves to MPA and iSER
 * (Hello, then RFC 5046's 12-byte header) after the final Login Response; see
 * {@link IserStreamingDatamover}. The RDMA provider tells the two apart from the first bytes; a
 * provider without streaming mode (DiSNI) serves only the RFC 7145 style.
 */
public class IserTransport implements Transport {

  private static final Logger log = LoggerFactory.getLogger(IserTransport.class);
  /** RFC 7143 §11.12: a Login Request's first byte, opcode 0x03 with the immediate bit. */
  private static final int LOGIN_REQUEST_BYTE0 = 0x43;

  private final String name;
  private final String defaultProvider;

  /** The {@code iser-iwarp} transport: the software RNIC. */
  public IserTransport() {
    this("iser-iwarp", "iwarp");
  }

  protected IserTransport(String name, String defaultProvider) {
    this.name = name;
    this.defaultProvider = defaultProvider;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Future<Listener> listen(Vertx vertx, PortalAddress address, JsonObject options,
      Handler<DatamoverConnection> acceptor) {
    IserOptions iser;
    RdmaProvider provider;
    try {
      iser = IserOptions.fromJson(options.copy().put("provider", options.getString("provider", defaultProvider)));
      provider = RdmaProvider.load(iser.provider());
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(new IllegalStateException("portal " + address + " (" + name + "): " + e.getMessage(), e));
    }
    return provider.open(vertx, options).compose(device -> device.listen(
        SocketAddress.inetSocketAddress(address.port(), address.host()), req -> request(device, iser, req, acceptor),
        stream -> streaming(device, iser, stream, acceptor))
        .<Listener>map(l -> listener(device, l))
        .onFailure(err -> device.close()))
        .recover(err -> Future.failedFuture(new IllegalStateException(
            "portal " + address + " (" + name + ") could not start: " + err.getMessage(), err)));
  }

  private void request(RdmaDevice device, IserOptions options, ConnectionRequest req,
      Handler<DatamoverConnection> acceptor) {
    IserCmPrivateData initiator = IserCmPrivateData.parse(req.privateData());
    boolean peerAllowsInvalidate = !initiator.sendWithInvalidateNotSupported()
        && device.capabilities().sendWithInvalidate();
    ProtectionDomain pd = device.allocateProtectionDomain();
    RdmaConnection rdma = req.createConnection(pd, options.queuePairOptions());
    IserDatamoverConnection dm = new IserDatamoverConnection(name, rdma, pd, options, peerAllowsInvalidate);
    // Linux isert's accept: ZBVA never used (the header's base offsets are honoured), 0x40 when we
    // will not Send with Invalidate.
    IserCmPrivateData reply = new IserCmPrivateData(true, !dm.sendWithInvalidate());
    req.accept(reply.encode()).onComplete(ar -> {
      if (ar.succeeded()) {
        acceptor.handle(dm);
      } else {
        log.warn("{} portal: accepting {} failed: {}", name, req.remoteAddress(), ar.cause().toString());
        pd.close();
      }
    });
  }

  /**
   * RFC 5046 style: the connection did not start with an MPA Request. It must start with an iSCSI
   * Login Request (opcode 0x03 with the I bit, RFC 7143 §11.12: byte 0 is 0x43); the login then
   * runs in byte-stream mode and the connection moves to MPA afterwards.
   */
  private void streaming(RdmaDevice device, IserOptions options, StreamingConnection stream,
      Handler<DatamoverConnection> acceptor) {
    int first = stream.prefix().getUnsignedByte(0);
    if (first != LOGIN_REQUEST_BYTE0) {
      log.warn("{} portal {}: connection from {} starts with neither an MPA Request nor an iSCSI Login Request"
          + " (first byte 0x{}); closing", name, stream.localAddress(), stream.remoteAddress(),
          String.format("%02x", first));
      stream.socket().close();
      return;
    }
    acceptor.handle(new IserStreamingDatamover(name, device, options, stream));
  }

  private static Listener listener(RdmaDevice device, RdmaListener l) {
    return new Listener() {
      @Override
      public int actualPort() {
        return l.actualPort();
      }

      @Override
      public Future<Void> close() {
        return l.close().eventually(device::close);
      }
    };
  }

  /** The {@code iser-disni} transport: hardware verbs through the DiSNI provider, when present. */
  public static final class Disni extends IserTransport {
    public Disni() {
      super("iser-disni", "disni");
    }
  }
}
