package io.spindle.rdma.disni;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Checks what DiSNI needs before any DiSNI class is touched (DiSNI loads libdisni in a static
 * initializer, and a failure there poisons the class for the JVM's lifetime): the native library,
 * the JDK export DiSNI's address lookups use, and an RDMA device. Everything missing is reported in
 * one message that says how to provide it.
 */
final class NativeProbe {

  static final String LIBRARY = "disni";
  static final String DOCS = "see docs/DISNI.md";

  private final Path sysfs;
  private final Function<String, String> loadLibrary;
  private final boolean exportsOk;

  /** The host's: /sys/class/infiniband, System.loadLibrary and the running module graph. */
  static NativeProbe host() {
    return new NativeProbe(Path.of("/sys/class/infiniband"), NativeProbe::load,
        Object.class.getModule().isExported("sun.nio.ch", NativeProbe.class.getModule()));
  }

  /**
   * @param loadLibrary loads a library by name; returns null on success, else the loader's message
   */
  NativeProbe(Path sysfs, Function<String, String> loadLibrary, boolean exportsOk) {
    this.sysfs = sysfs;
    this.loadLibrary = loadLibrary;
    this.exportsOk = exportsOk;
  }

  private static String load(String name) {
    try {
      System.loadLibrary(name);
      return null;
    } catch (UnsatisfiedLinkError | SecurityException e) {
      return e.getMessage();
    }
  }

  /** An RDMA device and the network interfaces it serves. */
  record Device(String name, List<String> netdevs) {
  }

  /** The outcome: the devices found, or why DiSNI cannot run here. */
  record Result(List<Device> devices, String problem) {
    boolean ok() {
      return problem == null;
    }
  }

  Result check() {
    List<String> missing = new ArrayList<>();
    String loadError = loadLibrary.apply(LIBRARY);
    if (loadError != null) {
      missing.add("the native library lib" + LIBRARY + ".so could not be loaded (" + loadError
          + "): build it from DiSNI 2.1's sources"
          + " (./autoprepare.sh && ./configure --with-jdk=$JAVA_HOME && make install) and start the JVM with"
          + " -Djava.library.path=<dir of libdisni.so> or LD_LIBRARY_PATH=<dir>");
    }
    if (!exportsOk) {
      missing.add("DiSNI reads direct-buffer addresses through sun.nio.ch: start the JVM with"
          + " --add-exports java.base/sun.nio.ch=ALL-UNNAMED");
    }
    List<Device> devices = devices();
    if (devices.isEmpty()) {
      missing.add("no RDMA device (" + sysfs + " lists none, so ibv_devices shows none): load the RNIC's driver"
          + " (mlx5_ib, irdma, bnxt_re, ...) or, on a test host, add a software device"
          + " (rdma link add rxe0 type rxe netdev <if>, or type siw)");
    }
    if (missing.isEmpty()) return new Result(devices, null);
    return new Result(devices, "DiSNI RDMA provider unavailable: " + String.join("; ", missing) + " (" + DOCS + ")");
  }

  /** RDMA devices in sysfs and their network interfaces (PCI NICs: device/net; rxe and siw: parent). */
  List<Device> devices() {
    List<Device> out = new ArrayList<>();
    if (!Files.isDirectory(sysfs)) return out;
    try (Stream<Path> entries = Files.list(sysfs)) {
      for (Path dev : entries.sorted().toList()) {
        List<String> netdevs = new ArrayList<>();
        Path net = dev.resolve("device").resolve("net");
        if (Files.isDirectory(net)) {
          try (Stream<Path> n = Files.list(net)) {
            n.sorted().forEach(p -> netdevs.add(p.getFileName().toString()));
          }
        }
        Path parent = dev.resolve("parent");
        if (netdevs.isEmpty() && Files.isRegularFile(parent)) {
          String name = Files.readString(parent).trim();
          if (!name.isEmpty()) netdevs.add(name);
        }
        out.add(new Device(dev.getFileName().toString(), netdevs));
      }
    } catch (IOException e) {
      // Unreadable sysfs: report what was found so far.
    }
    return out;
  }

  /** The first IPv4 address of the first device's interfaces, or null. */
  static InetAddress firstAddress(List<Device> devices) {
    for (Device d : devices) {
      for (String netdev : d.netdevs()) {
        try {
          NetworkInterface nic = NetworkInterface.getByName(netdev);
          if (nic == null) continue;
          Enumeration<InetAddress> addrs = nic.getInetAddresses();
          while (addrs.hasMoreElements()) {
            InetAddress a = addrs.nextElement();
            if (a instanceof Inet4Address) return a;
          }
        } catch (SocketException e) {
          // Try the next interface.
        }
      }
    }
    return null;
  }
}
