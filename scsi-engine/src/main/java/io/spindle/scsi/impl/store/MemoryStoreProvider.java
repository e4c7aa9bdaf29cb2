package io.spindle.scsi.impl.store;

/** {@code "backing": "memory"}: sparse, in this process's heap, gone at exit. */
public final class MemoryStoreProvider extends InlineStoreProvider {

  public MemoryStoreProvider() {
    super("memory", MemoryBackingStore::new);
  }
}
