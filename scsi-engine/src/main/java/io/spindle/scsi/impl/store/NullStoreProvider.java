package io.spindle.scsi.impl.store;

/** {@code "backing": "null"}: writes vanish, reads return zeros; measures the protocol path alone. */
public final class NullStoreProvider extends InlineStoreProvider {

  public NullStoreProvider() {
    super("null", NullBackingStore::new);
  }
}
