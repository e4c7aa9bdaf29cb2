package io.spindle.scsi.spi.store;

import java.io.IOException;

/**
 * A store's service cannot be reached or used right now (librbd not installed, the Ceph cluster
 * down): the LUN does not open, the message says what to install or check, and the server keeps
 * serving every other LUN. A configuration error (a bad path) is not this: it fails the config.
 */
public final class StoreUnavailableException extends IOException {

  public StoreUnavailableException(String message) {
    super(message);
  }
}
