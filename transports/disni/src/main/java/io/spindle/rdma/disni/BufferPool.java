package io.spindle.rdma.disni;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Registered buffers of one size in one protection domain, registered when the pool grows and
 * reused from then on, so the I/O path never registers memory. Each buffer is a memory region of
 * its own (its own keys), carved from a slab allocated per growth. Thread-safe: connections of one
 * domain may live on different event loops.
 */
final class BufferPool {

  /** One registered buffer; {@code memory} spans exactly the registered bytes. */
  record Buffer(ByteBuffer memory, Verbs.Mr mr, BufferPool pool) {
    long address() {
      return mr.address();
    }

    int lkey() {
      return mr.lkey();
    }

    int size() {
      return memory.capacity();
    }

    Verbs.Sge sge(int length) {
      return new Verbs.Sge(mr.address(), length, mr.lkey());
    }
  }

  private final Verbs verbs;
  private final Object pd;
  private final int bufferSize;
  private final int growBy;
  private final int max;
  private final int access;
  private final ArrayDeque<Buffer> free = new ArrayDeque<>();
  private final List<Buffer> all = new ArrayList<>();
  private boolean closed;

  BufferPool(Verbs verbs, Object pd, int bufferSize, int growBy, int max, int access) {
    this.verbs = verbs;
    this.pd = pd;
    this.bufferSize = bufferSize;
    this.growBy = growBy;
    this.max = max;
    this.access = access;
  }

  int bufferSize() {
    return bufferSize;
  }

  /** A buffer, or null when the pool is at its maximum and all are in use. */
  synchronized Buffer take() {
    if (closed) throw new IllegalStateException("protection domain is closed");
    if (free.isEmpty()) grow();
    return free.poll();
  }

  synchronized void give(Buffer b) {
    if (closed) return;
    b.memory().clear();
    free.push(b);
  }

  /** Registered buffers, in use or free. */
  synchronized int registered() {
    return all.size();
  }

  synchronized int available() {
    return free.size();
  }

  private void grow() {
    int n = Math.min(growBy, max - all.size());
    if (n <= 0) return;
    ByteBuffer slab = ByteBuffer.allocateDirect(n * bufferSize);
    try {
      for (int i = 0; i < n; i++) {
        ByteBuffer slice = slab.slice(i * bufferSize, bufferSize);
        Buffer b = new Buffer(slice, verbs.regMr(pd, slice, access), this);
        all.add(b);
        free.add(b);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("registering " + n + " buffers of " + bufferSize + " bytes failed", e);
    }
  }

  /** Deregisters every buffer; buffers still out are unusable from now on. */
  synchronized void close() {
    if (closed) return;
    closed = true;
    for (Buffer b : all) {
      try {
        verbs.deregMr(b.mr());
      } catch (IOException e) {
        // The domain goes away with the device context anyway.
      }
    }
    all.clear();
    free.clear();
  }
}
