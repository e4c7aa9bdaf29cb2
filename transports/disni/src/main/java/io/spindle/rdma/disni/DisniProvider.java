package io.spindle.rdma.disni;

import io.spindle.rdma.RdmaDevice;
import io.spindle.rdma.RdmaProvider;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.InetAddress;

/**
 * Hardware verbs (InfiniBand, RoCE, iWARP RNICs) through DiSNI 2.1. Needs libdisni on
 * java.library.path and an RDMA device; without them {@link #open} fails with one message that
 * says what is missing and how to provide it, so a portal on this provider fails alone.
 */
public final class DisniProvider implements RdmaProvider {

  public static final String NAME = "disni";

  /** Opens the verbs layer for a device address; DiSNI here, a fake in tests. */
  interface VerbsOpener {
    Verbs open(String deviceName, InetAddress address) throws IOException;
  }

  private final NativeProbe probe;
  private final VerbsOpener opener;

  public DisniProvider() {
    this(NativeProbe.host(), DisniVerbs::open);
  }

  DisniProvider(NativeProbe probe, VerbsOpener opener) {
    this.probe = probe;
    this.opener = opener;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Future<RdmaDevice> open(Vertx vertx, JsonObject options) {
    DisniOptions opts;
    try {
      opts = DisniOptions.fromJson(options);
    } catch (IllegalArgumentException | ClassCastException e) {
      return Future.failedFuture(new IllegalArgumentException("DiSNI options: " + e.getMessage(), e));
    }
    NativeProbe.Result found = probe.check();
    if (!found.ok()) return Future.failedFuture(new IllegalStateException(found.problem()));
    // Binding the probe id and creating the queues are system calls: keep them off the event loop.
    return vertx.executeBlocking(() -> {
      InetAddress address = opts.deviceAddress() != null ? InetAddress.getByName(opts.deviceAddress())
          : NativeProbe.firstAddress(found.devices());
      if (address == null) {
        throw new IllegalStateException("DiSNI RDMA provider: none of the RDMA devices " + found.devices()
            + " has an IPv4 address; configure the interface or set the portal option \"deviceAddress\" ("
            + NativeProbe.DOCS + ")");
      }
      String name = found.devices().get(0).name() + "@" + address.getHostAddress();
      Verbs verbs;
      try {
        verbs = opener.open(name, address);
      } catch (IOException | UnsatisfiedLinkError e) {
        throw new IllegalStateException("DiSNI RDMA provider: opening the RDMA device behind "
            + address.getHostAddress() + " failed: " + e.getMessage() + " (" + NativeProbe.DOCS + ")", e);
      }
      try {
        return (RdmaDevice) new DisniDevice(vertx, verbs, opts);
      } catch (IOException | RuntimeException e) {
        verbs.close();
        throw new IllegalStateException("DiSNI RDMA provider: creating the completion queue of "
            + opts.completionQueueEntries() + " entries failed: " + e.getMessage(), e);
      }
    }, false);
  }
}
