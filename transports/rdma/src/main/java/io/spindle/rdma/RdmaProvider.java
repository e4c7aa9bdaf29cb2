package io.spindle.rdma;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.ServiceLoader;

/**
 * An RDMA implementation, found with {@link ServiceLoader} by name ({@code iwarp} for the software
 * RNIC over TCP, {@code disni} for hardware verbs). A provider that cannot work on this host (no
 * device, no native library) fails {@link #open} with a message an operator can act on.
 */
public interface RdmaProvider {

  /** The name a configuration uses to pick this provider. */
  String name();

  /**
   * Opens a device.
   *
   * @param options provider-specific settings (for iWARP: MPA revision, CRC, MULPDU, ...); unknown keys are ignored
   */
  Future<RdmaDevice> open(Vertx vertx, JsonObject options);

  /** The provider with this name on the class path. */
  static RdmaProvider load(String name) {
    for (RdmaProvider p : ServiceLoader.load(RdmaProvider.class)) {
      if (p.name().equals(name)) return p;
    }
    throw new IllegalArgumentException("no RDMA provider named \"" + name + "\" on the class path");
  }
}
