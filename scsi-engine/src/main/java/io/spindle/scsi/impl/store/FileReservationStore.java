package io.spindle.scsi.impl.store;

import io.spindle.scsi.spi.store.ReservationStore;
import io.spindle.scsi.spi.store.StoreContext;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Persistent reservations in a JSON file, replaced atomically (write a temporary file, rename). */
public final class FileReservationStore implements ReservationStore {

  private final Path file;
  private final StoreContext workers;

  public FileReservationStore(Path file, StoreContext workers) {
    this.file = file;
    this.workers = workers;
  }

  public Path file() {
    return file;
  }

  @Override
  public Future<JsonObject> load(Context ctx) {
    return workers.blocking(ctx, () -> Files.isRegularFile(file) ? new JsonObject(Files.readString(file)) : null);
  }

  @Override
  public Future<Void> save(Context ctx, JsonObject state) {
    return workers.blocking(ctx, () -> {
      if (state == null) {
        Files.deleteIfExists(file);
      } else {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, state.encodePrettily());
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      }
      return null;
    });
  }
}
