package io.spindle.initiator;

/** READ CAPACITY (16) parameter data, SBC-4 §5.20.2. */
public record Capacity(long lastLba, int blockLength) {
  public long blocks() {
    return lastLba + 1;
  }

  public long bytes() {
    return blocks() * blockLength;
  }
}
