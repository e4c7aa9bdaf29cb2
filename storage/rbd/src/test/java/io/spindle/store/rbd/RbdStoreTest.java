package io.spindle.store.rbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.scsi.LunOptions;
import io.spindle.scsi.impl.ScsiEngineImpl;
import io.spindle.scsi.spi.store.BackingStore;
import io.spindle.scsi.spi.store.BackingStoreProviders;
import io.spindle.scsi.spi.store.StoreUnavailableException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the TCK does not cover: options, a cluster that is down, a resize in Ceph, reservations in image metadata. */
class RbdStoreTest {

  private Vertx vertx;
  private ScsiEngineImpl engine;
  private final String image = "rbdtest-" + Long.toHexString(System.nanoTime());

  @BeforeAll
  static void ceph() {
    DevCluster.assumeRunning();
  }

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    engine = new ScsiEngineImpl(vertx, 2);
  }

  @AfterEach
  void tearDown() throws Exception {
    engine.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    vertx.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  private BackingStore open(LunOptions lun) throws Exception {
    BackingStoreProviders.find("rbd").validate(lun, "lun");
    return get(BackingStoreProviders.find("rbd").open(lun, engine));
  }

  private static <T> T get(Future<T> f) throws Exception {
    try {
      return f.toCompletionStage().toCompletableFuture().get(90, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw (Exception) e.getCause();
    }
  }

  @Test
  void optionsAreCheckedWithTheFieldsPath() {
    JsonObject noPool = new JsonObject().put("backing", "rbd").put("image", "x");
    assertEquals("t.luns[0].pool: required (the Ceph pool holding the image)",
        assertThrows(IllegalArgumentException.class, () -> LunOptions.fromJson(noPool, "t.luns[0]")).getMessage());
    JsonObject createWithoutSize = new JsonObject().put("backing", "rbd").put("pool", "rbd").put("image", "x")
        .put("create", true);
    assertTrue(assertThrows(IllegalArgumentException.class, () -> LunOptions.fromJson(createWithoutSize, "l"))
        .getMessage().startsWith("l.size: required with \"create\": true"));
    JsonObject unknown = new JsonObject().put("backing", "rbd").put("pool", "rbd").put("image", "x").put("path", "/a");
    assertEquals("l.path: unknown field for \"backing\": \"rbd\"",
        assertThrows(IllegalArgumentException.class, () -> LunOptions.fromJson(unknown, "l")).getMessage());
    LunOptions ok = LunOptions.fromJson(new JsonObject().put("backing", "rbd").put("pool", "rbd").put("image", "x")
        .put("namespace", "ns").put("user", "client.spindle").put("cephConf", "/c").put("keyring", "/k"), "l");
    assertEquals("rbd", ok.backing());
    assertEquals(0, ok.size(), "capacity comes from the image");
  }

  @Test
  void aMissingImageWithoutCreateSaysHowToCreateIt() {
    LunOptions lun = DevCluster.lun(image, 0).storeOption("create", null);
    StoreUnavailableException e = assertThrows(StoreUnavailableException.class, () -> open(lun));
    assertTrue(e.getMessage().contains("rbd/" + image + ": no such image; create it (rbd create"), e.getMessage());
  }

  @Test
  void anUnreachableClusterFailsInBoundedTimeNamingTheMonitors(@TempDir Path dir) throws Exception {
    Path conf = dir.resolve("down.conf");
    // A monitor address in this helper's port range where nothing listens.
    Files.writeString(conf, "[global]\nmon host = v2:127.0.0.1:22790\nauth client required = cephx\n");
    LunOptions lun = DevCluster.lun(image, 1 << 20).storeOption("cephConf", conf.toString());
    long t0 = System.nanoTime();
    StoreUnavailableException e = assertThrows(StoreUnavailableException.class, () -> open(lun));
    long s = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
    assertTrue(e.getMessage().contains("cannot reach the Ceph cluster (monitors v2:127.0.0.1:22790"), e.getMessage());
    assertTrue(e.getMessage().contains("ceph -s"), e.getMessage());
    assertTrue(s < 60, "took " + s + " s");
  }

  @Test
  void aResizeInCephIsReported() throws Exception {
    BackingStore store = open(DevCluster.lun(image, 4 << 20));
    try {
      assertEquals(4 << 20, store.size());
      CompletableFuture<Long> resized = new CompletableFuture<>();
      store.onResize(resized::complete);
      DevCluster.rbd("resize", "--size", "8M", "rbd/" + image);
      assertEquals(8L << 20, resized.get(60, TimeUnit.SECONDS));
      assertEquals(8L << 20, store.size());
    } finally {
      get(store.close());
    }
  }

  @Test
  void reservationsLiveInTheImageMetadata() throws Exception {
    BackingStore store = open(DevCluster.lun(image, 4 << 20));
    try {
      JsonObject state = new JsonObject().put("generation", 3);
      get(store.reservations().save(null, state));
      assertEquals(state.encode(), DevCluster.rbd("image-meta", "get", "rbd/" + image, RbdReservationStore.KEY).trim());
    } finally {
      get(store.close());
    }
    BackingStore again = open(DevCluster.lun(image, 4 << 20));
    try {
      assertEquals(3, get(again.reservations().load(null)).getInteger("generation"));
    } finally {
      get(again.close());
    }
  }

  @Test
  void discardedObjectsAreReportedUnmapped() throws Exception {
    BackingStore store = open(DevCluster.lun(image, 16 << 20));
    io.vertx.core.Context ctx = vertx.getOrCreateContext();
    try {
      io.netty.buffer.ByteBuf b = io.netty.buffer.Unpooled.directBuffer(4096).writeZero(4096).setByte(0, 1);
      try {
        // 4 KiB at the start of objects 0, 1 and 3 (4 MiB each); the rest never written.
        for (long at : new long[] {0, 4 << 20, 12 << 20}) get(store.write(ctx, b, at, false));
      } finally {
        b.release();
      }
      BackingStore.Extent first = get(store.extent(ctx, 0, 512));
      assertTrue(first.mapped() && first.end() == 4096, first.toString());
      BackingStore.Extent gap = get(store.extent(ctx, 4096, 512));
      assertTrue(!gap.mapped() && gap.end() == 4 << 20, gap.toString());
      BackingStore.Extent hole = get(store.extent(ctx, 4100 << 10, 512));
      assertTrue(!hole.mapped() && hole.end() == 12 << 20, hole.toString());
      get(store.discard(ctx, 0, 8 << 20));
      BackingStore.Extent freed = get(store.extent(ctx, 0, 512));
      assertTrue(!freed.mapped() && freed.end() == 12 << 20, freed.toString());
    } finally {
      get(store.close());
    }
  }
}
