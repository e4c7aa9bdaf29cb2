package io.spindle.cluster.impl;

import io.spindle.cluster.StateStore;
import io.spindle.cluster.StateStoreContract;

class InMemoryStateStoreTest extends StateStoreContract {

  private final StateStore store = StateStore.inMemory();
  private int next = 1;

  @Override
  protected StateStore store() {
    return store;
  }

  @Override
  protected int freshTsih() {
    return next++;
  }
}
