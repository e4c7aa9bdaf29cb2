package io.spindle.rdma.disni;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A provider over {@link FakeVerbs}, with a probe that finds one fake device on the loopback interface. */
final class Fakes {

  /** The fake verbs layers opened, newest last. */
  static final List<FakeVerbs> OPENED = new ArrayList<>();

  private Fakes() {
  }

  static DisniProvider provider(Verbs.Features features) {
    return new DisniProvider(probe(), (name, address) -> {
      FakeVerbs v = new FakeVerbs(features);
      synchronized (OPENED) {
        OPENED.add(v);
      }
      return v;
    });
  }

  static FakeVerbs last() {
    synchronized (OPENED) {
      return OPENED.get(OPENED.size() - 1);
    }
  }

  static NativeProbe probe() {
    try {
      Path sysfs = Files.createTempDirectory("sysfs-infiniband");
      Path dev = Files.createDirectories(sysfs.resolve("fake0"));
      Files.writeString(dev.resolve("parent"), "lo\n");
      sysfs.toFile().deleteOnExit();
      return new NativeProbe(sysfs, lib -> null, true);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
