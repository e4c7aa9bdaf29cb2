package io.spindle.rdma.disni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.rdma.RdmaProvider;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NativeProbeTest {

  @TempDir
  Path sysfs;

  @Test
  void nothingThereGivesOneMessageNamingEachMissingPieceAndTheFix() {
    NativeProbe.Result r = new NativeProbe(sysfs, lib -> "no disni in java.library.path", false).check();
    assertFalse(r.ok());
    String m = r.problem();
    assertTrue(m.startsWith("DiSNI RDMA provider unavailable: "), m);
    assertTrue(m.contains("libdisni.so could not be loaded (no disni in java.library.path)"), m);
    assertTrue(m.contains("-Djava.library.path="), m);
    assertTrue(m.contains("--add-exports java.base/sun.nio.ch=ALL-UNNAMED"), m);
    assertTrue(m.contains("no RDMA device"), m);
    assertTrue(m.contains("rdma link add rxe0 type rxe"), m);
    assertTrue(m.contains("docs/DISNI.md"), m);
    assertEquals(1, m.lines().count(), "one line for the log");
  }

  @Test
  void libraryPresentButNoDeviceNamesOnlyTheDevice() {
    NativeProbe.Result r = new NativeProbe(sysfs.resolve("absent"), lib -> null, true).check();
    assertFalse(r.problem().contains("libdisni"), r.problem());
    assertTrue(r.problem().contains("no RDMA device"), r.problem());
  }

  @Test
  void devicesAndTheirInterfacesComeFromSysfs() throws Exception {
    Files.createDirectories(sysfs.resolve("mlx5_0/device/net/ens1f0np0"));
    Path rxe = Files.createDirectories(sysfs.resolve("rxe0"));
    Files.writeString(rxe.resolve("parent"), "eth0\n");
    NativeProbe.Result r = new NativeProbe(sysfs, lib -> null, true).check();
    assertNull(r.problem());
    assertEquals(List.of(new NativeProbe.Device("mlx5_0", List.of("ens1f0np0")),
        new NativeProbe.Device("rxe0", List.of("eth0"))), r.devices());
  }

  @Test
  void openFailsWithTheProbeMessage() throws Exception {
    DisniProvider p = new DisniProvider(new NativeProbe(sysfs, lib -> "not found", true), (n, a) -> {
      throw new AssertionError("must not touch DiSNI when the probe failed");
    });
    Vertx vertx = Vertx.vertx();
    try {
      Throwable t = p.open(vertx, new JsonObject()).toCompletionStage().toCompletableFuture()
          .handle((d, e) -> e).get(10, TimeUnit.SECONDS);
      assertTrue(t instanceof IllegalStateException, String.valueOf(t));
      assertTrue(t.getMessage().contains("libdisni.so"), t.getMessage());
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void theProviderIsFoundByName() {
    assertTrue(RdmaProvider.load("disni") instanceof DisniProvider);
  }

  @Test
  void optionsRejectNonsense() {
    assertTrue(org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> DisniOptions.fromJson(new JsonObject().put("largeBufferSize", 64))).getMessage().contains("largeBufferSize"));
    assertEquals(DisniOptions.DEFAULT_LARGE_BUFFER_SIZE, DisniOptions.defaults().largeBufferSize());
  }

  @Test
  void theDeviceIsThePortalsOwnAddressUnlessSaidOtherwise() {
    assertEquals("10.0.0.5", DisniOptions.fromJson(new JsonObject().put("address", "10.0.0.5:3260")).deviceAddress());
    assertEquals("fd00::5", DisniOptions.fromJson(new JsonObject().put("address", "[fd00::5]:3260")).deviceAddress());
    assertEquals(null, DisniOptions.fromJson(new JsonObject().put("address", "0.0.0.0:3260")).deviceAddress());
    assertEquals("10.1.1.1", DisniOptions.fromJson(new JsonObject().put("address", "0.0.0.0:3260")
        .put("deviceAddress", "10.1.1.1")).deviceAddress());
  }
}
