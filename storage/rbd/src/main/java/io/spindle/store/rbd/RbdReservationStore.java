package io.spindle.store.rbd;

import static io.spindle.store.rbd.Librbd.errno;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.spindle.scsi.spi.store.ReservationStore;
import io.spindle.scsi.spi.store.StoreContext;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Persistent reservations of an RBD LUN in the image's own metadata (key {@value #KEY}), so every
 * gateway that opens the image finds them, and no file on one node holds them.
 */
final class RbdReservationStore implements ReservationStore {

  static final String KEY = "spindle.pr";
  private static final int ENOENT = 2;
  private static final int ERANGE = 34;

  private final String spec;
  private final Pointer image;
  private final StoreContext workers;

  RbdReservationStore(String spec, Pointer image, StoreContext workers) {
    this.spec = spec;
    this.image = image;
    this.workers = workers;
  }

  /** Every gateway that opens the image reads and writes the same metadata key. */
  @Override
  public boolean shared() {
    return true;
  }

  @Override
  public Future<JsonObject> load(Context ctx) {
    return workers.blocking(ctx, () -> {
      long len = 4096;
      while (true) {
        Memory value = new Memory(len);
        Memory valLen = new Memory(8);
        valLen.setLong(0, len);
        int rv = Librbd.Rbd.rbd_metadata_get(image, KEY, value, valLen);
        if (rv == -ENOENT) return null;
        if (rv == -ERANGE) {
          len = Math.max(valLen.getLong(0), len * 2);
          continue;
        }
        if (rv < 0) throw new IOException("rbd " + spec + ": metadata " + KEY + ": " + errno(rv));
        // The value comes back NUL-terminated.
        return new JsonObject(value.getString(0, StandardCharsets.UTF_8.name()));
      }
    });
  }

  @Override
  public Future<Void> save(Context ctx, JsonObject state) {
    return workers.blocking(ctx, () -> {
      int rv = state == null ? Librbd.Rbd.rbd_metadata_remove(image, KEY)
          : Librbd.Rbd.rbd_metadata_set(image, KEY, state.encode());
      if (rv < 0 && !(state == null && rv == -ENOENT)) {
        throw new IOException("rbd " + spec + ": saving reservations in metadata " + KEY + ": " + errno(rv));
      }
      return null;
    });
  }
}
