package io.spindle.scsi.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.spindle.scsi.Nexus;
import io.spindle.scsi.ScsiCommand;
import io.spindle.scsi.TaskAttribute;
import io.vertx.core.Context;
import io.vertx.core.Future;

/** A ScsiCommand built in tests: CDB bytes, optional Data-Out, a context to complete on. */
class TestCommand implements ScsiCommand {

  final Nexus nexus;
  final long lun;
  final ByteBuf cdb;
  final byte[] dataOut;
  final int edtl;
  final boolean read;
  final Context context;
  TaskAttribute attribute = TaskAttribute.SIMPLE;
  long tag;
  int pulls;
  /** When set, every Data-Out pull fails with it, as a transport's would. */
  RuntimeException dataOutFailure;

  TestCommand(Context context, Nexus nexus, int lun, byte[] cdb, byte[] dataOut, int edtl, boolean read) {
    this.context = context;
    this.nexus = nexus;
    this.lun = LunAddressing.encode(lun);
    this.cdb = Unpooled.wrappedBuffer(cdb);
    this.dataOut = dataOut;
    this.edtl = edtl;
    this.read = read;
  }

  @Override
  public Nexus nexus() {
    return nexus;
  }

  @Override
  public long lun() {
    return lun;
  }

  @Override
  public ByteBuf cdb() {
    return cdb;
  }

  @Override
  public TaskAttribute attribute() {
    return attribute;
  }

  @Override
  public long taskTag() {
    return tag;
  }

  @Override
  public int expectedDataTransferLength() {
    return edtl;
  }

  @Override
  public boolean hasDataOut() {
    return dataOut != null;
  }

  @Override
  public boolean hasDataIn() {
    return read;
  }

  @Override
  public Future<ByteBuf> dataOut(int offset, int length) {
    pulls++;
    if (dataOutFailure != null) return Future.failedFuture(dataOutFailure);
    if (dataOut == null || offset + length > edtl) return Future.failedFuture("bad range");
    return Future.succeededFuture(Unpooled.directBuffer(length).writeBytes(dataOut, offset, length));
  }

  @Override
  public Context context() {
    return context;
  }
}
