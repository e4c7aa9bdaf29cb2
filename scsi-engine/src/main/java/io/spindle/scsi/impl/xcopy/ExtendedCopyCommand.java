package io.spindle.scsi.impl.xcopy;

import static io.spindle.scsi.impl.Cdb.u16;
import static io.spindle.scsi.impl.Cdb.u32;
import static io.spindle.scsi.impl.Cdb.u64;
import static io.spindle.scsi.impl.Cdb.u8;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.spindle.scsi.ScsiResult;
import io.spindle.scsi.impl.Cdb;
import io.spindle.scsi.impl.CheckCondition;
import io.spindle.scsi.impl.LogicalUnitImpl;
import io.spindle.scsi.impl.SenseData;
import io.spindle.scsi.impl.Task;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.List;

/**
 * EXTENDED COPY (LID1), SPC-4 §6.4: the copy manager of the addressed logical unit copies
 * blocks between logical units of this server. Supported are identification CSCD descriptors
 * (E4h) that name a logical unit by its NAA designator (VPD page 83h) and block device to
 * block device segment descriptors (02h). Every check of the parameter list happens before a
 * block moves; the copy then runs segment by segment, in chunks of
 * {@link CopyManagerLimits#CHUNK_BYTES} on the storage worker pool, each chunk holding the
 * destination range lock like a WRITE does.
 */
public final class ExtendedCopyCommand {

  static final int HEADER = 16;
  static final int CSCD_LENGTH = 32;
  static final int B2B_LENGTH = 28;

  /** LIST ID USAGE (SPC-4 table 104). */
  static final int USAGE_HOLD = 0;
  static final int USAGE_NO_HOLD = 2;
  static final int USAGE_NO_LIST_ID = 3;

  private ExtendedCopyCommand() {
  }

  /** One identification CSCD descriptor: the logical unit it names, or null when none here. */
  record Cscd(LogicalUnitImpl lu, int diskBlockLength) {
  }

  /** One block-to-block segment descriptor. */
  record Segment(int source, int destination, int blocks, long sourceLba, long destinationLba) {
  }

  /** A checked parameter list. */
  record ParameterList(int listId, int usage, List<Cscd> cscds, List<Segment> segments) {
  }

  public static Future<ScsiResult> extendedCopy(Task t) {
    byte[] c = t.cdb();
    for (int i = 2; i <= 9; i++) Cdb.reserved(c, i, 0xFF);
    Cdb.reserved(c, 14, 0xFF);
    long length = u32(c, 10);
    // SPC-4 §6.4.1: a zero PARAMETER LIST LENGTH copies nothing and is not an error.
    if (length == 0) return Future.succeededFuture(t.good(0));
    if (length < HEADER || length > HEADER + CopyManagerLimits.MAX_DESCRIPTOR_LIST_LENGTH) {
      throw CheckCondition.parameterListLengthError();
    }
    if (!t.command().hasDataOut() || t.edtl() < length) throw CheckCondition.parameterListLengthError();
    int n = (int) length;
    return t.command().dataOut(0, n).compose(p -> {
      byte[] param = new byte[n];
      try {
        p.getBytes(p.readerIndex(), param);
      } finally {
        p.release();
      }
      ParameterList list = parse(param, t.lu());
      return run(t, list).map(v -> t.good(n));
    });
  }

  /** Checks the parameter list (SPC-4 §6.4.3) in the order the errors are reported. */
  static ParameterList parse(byte[] p, LogicalUnitImpl self) {
    int listId = u8(p, 0);
    int usage = (p[1] >> 3) & 3;
    if (usage == 1) throw CheckCondition.invalidParameterField(1, 4);
    // SPC-4 §6.4.3.2: with no list identifier the LIST IDENTIFIER field is zero.
    if (usage == USAGE_NO_LIST_ID && listId != 0) throw CheckCondition.invalidParameterField(0, -1);
    int cscdLength = u16(p, 2);
    long segmentLength = u32(p, 8);
    long inlineLength = u32(p, 12);
    if (cscdLength + segmentLength > CopyManagerLimits.MAX_DESCRIPTOR_LIST_LENGTH) {
      throw CheckCondition.parameterListLengthError();
    }
    // No inline or embedded data is supported (MAXIMUM INLINE DATA LENGTH 0).
    if (inlineLength != 0) throw CheckCondition.invalidParameterField(12, -1);
    if (HEADER + cscdLength + segmentLength > p.length) throw CheckCondition.parameterListLengthError();

    List<Cscd> cscds = new ArrayList<>();
    int off = HEADER;
    int end = HEADER + cscdLength;
    while (off < end) {
      int type = u8(p, off);
      if (type != CopyManagerLimits.CSCD_IDENTIFICATION) throw unsupported(0x07);
      if (off + CSCD_LENGTH > end) throw CheckCondition.invalidParameterField(2, -1);
      if (cscds.size() == CopyManagerLimits.MAX_CSCD_DESCRIPTORS) throw tooMany(0x06);
      cscds.add(cscd(p, off, self));
      off += CSCD_LENGTH;
    }

    List<Segment> segments = new ArrayList<>();
    end = (int) (end + segmentLength);
    while (off < end) {
      if (off + 4 > end) throw CheckCondition.invalidParameterField(8, -1);
      int type = u8(p, off);
      if (type != CopyManagerLimits.SEGMENT_BLOCK_TO_BLOCK) throw unsupported(0x09);
      if (u16(p, off + 2) != B2B_LENGTH - 4) throw CheckCondition.invalidParameterField(off + 2, -1);
      if (off + B2B_LENGTH > end) throw CheckCondition.invalidParameterField(8, -1);
      if (segments.size() == CopyManagerLimits.MAX_SEGMENT_DESCRIPTORS) throw tooMany(0x08);
      // DC and CAT only matter when source and destination block lengths differ or a
      // residue is left; both are refused below, so the bits are accepted and ignored.
      segments.add(new Segment(u16(p, off + 4), u16(p, off + 6), u16(p, off + 10), u64(p, off + 12),
          u64(p, off + 20)));
      off += B2B_LENGTH;
    }
    return new ParameterList(listId, usage, cscds, segments);
  }

  private static Cscd cscd(byte[] p, int off, LogicalUnitImpl self) {
    // SPC-4 §6.4.5.1: LU ID TYPE and NUL are obsolete (SPC-3 meanings); they are ignored.
    int deviceType = p[off + 1] & 0x1F;
    if (deviceType != 0) throw CheckCondition.invalidParameterField(off + 1, 4);
    int codeSet = p[off + 4] & 0x0F;
    int association = (p[off + 5] >> 4) & 3;
    int designatorType = p[off + 5] & 0x0F;
    int designatorLength = u8(p, off + 7);
    if (designatorLength > 20) throw CheckCondition.invalidParameterField(off + 7, -1);
    LogicalUnitImpl lu = null;
    // SPC-4 §6.4.5.7: the designator is matched against this server's logical units; only a
    // binary NAA designator associated with the logical unit identifies one here.
    if (codeSet == 1 && association == 0 && designatorType == 3 && designatorLength == 16) {
      byte[] naa = new byte[16];
      System.arraycopy(p, off + 8, naa, 0, 16);
      lu = self.engine().logicalUnitByNaa(naa);
    }
    return new Cscd(lu, u16(p, off + 30) | (u8(p, off + 29) << 16));
  }

  private static CheckCondition unsupported(int ascq) {
    // 26h/07h UNSUPPORTED TARGET DESCRIPTOR TYPE CODE, 26h/09h UNSUPPORTED SEGMENT DESCRIPTOR TYPE CODE.
    return CheckCondition.of(SenseData.ILLEGAL_REQUEST, 0x26, ascq);
  }

  private static CheckCondition tooMany(int ascq) {
    // 26h/06h TOO MANY TARGET DESCRIPTORS, 26h/08h TOO MANY SEGMENT DESCRIPTORS.
    return CheckCondition.of(SenseData.ILLEGAL_REQUEST, 0x26, ascq);
  }

  /** COPY ABORTED with an additional sense code (SPC-4 §6.4.6 errors while processing segments). */
  static CheckCondition copyAborted(int asc, int ascq) {
    return CheckCondition.of(SenseData.COPY_ABORTED, asc, ascq);
  }

  /** A segment resolved to logical units, checked against them. */
  record Step(LogicalUnitImpl source, LogicalUnitImpl destination, Segment segment) {
  }

  /**
   * Resolves every segment before any block moves, so a list that cannot complete changes
   * nothing. Errors are COPY ABORTED: the CSCD cannot be used (COPY TARGET DEVICE NOT
   * REACHABLE, 0Dh/02h) or the segment does not fit it (NO ADDITIONAL SENSE INFORMATION
   * with the segment outside the capacity; libiscsi accepts only those codes).
   */
  static List<Step> resolve(ParameterList list) {
    List<Step> steps = new ArrayList<>();
    for (Segment s : list.segments()) {
      LogicalUnitImpl src = usable(list, s.source());
      LogicalUnitImpl dst = usable(list, s.destination());
      int bs = src.blockSize();
      if (dst.blockSize() != bs) throw copyAborted(0x0D, 0x03); // INCORRECT COPY TARGET DEVICE TYPE
      if (outside(src, s.sourceLba(), s.blocks()) || outside(dst, s.destinationLba(), s.blocks())) {
        throw copyAborted(0x00, 0x00);
      }
      if (dst.options().readOnly()) throw copyAborted(0x27, 0x00);
      if (dst.writeProtected()) throw copyAborted(0x27, 0x02);
      steps.add(new Step(src, dst, s));
    }
    return steps;
  }

  private static LogicalUnitImpl usable(ParameterList list, int index) {
    if (index >= list.cscds().size()) throw copyAborted(0x0D, 0x02);
    Cscd d = list.cscds().get(index);
    if (d.lu() == null) throw copyAborted(0x0D, 0x02);
    if (d.diskBlockLength() != d.lu().blockSize()) throw copyAborted(0x0D, 0x03);
    // SBC-4 4.17 / 4.11.2: a medium that is absent or being sanitized cannot take part.
    if (!d.lu().mediumPresent()) throw copyAborted(0x3A, 0x00);
    if (d.lu().sanitizing()) throw copyAborted(0x04, 0x1B);
    return d.lu();
  }

  private static boolean outside(LogicalUnitImpl lu, long lba, long blocks) {
    long cap = lu.blocks();
    return lba < 0 || lba > cap || blocks > cap - lba;
  }

  private static Future<Void> run(Task t, ParameterList list) {
    List<Step> steps = resolve(list);
    CopyStatusTable table = CopyStatusTable.of(t.lu());
    String nexus = LogicalUnitImpl.prNexus(t.nexus());
    CopyStatusTable.Entry[] entry = new CopyStatusTable.Entry[1];
    int listId = list.usage() == USAGE_NO_LIST_ID ? -1 : list.listId();
    switch (table.begin(nexus, listId, list.usage() == USAGE_HOLD, entry)) {
      case LIST_ID_IN_USE:
        // SPC-4 §6.4.3.2: a list identifier already in use on this I_T nexus.
        throw CheckCondition.of(SenseData.ILLEGAL_REQUEST, 0x00, 0x16); // OPERATION IN PROGRESS
      case BUSY:
        throw CheckCondition.of(SenseData.ILLEGAL_REQUEST, 0x55, 0x03); // INSUFFICIENT RESOURCES
      default:
        break;
    }
    CopyStatusTable.Entry e = entry[0];
    return segment(t, steps, 0, e).andThen(ar -> table.end(nexus, e, ar.succeeded()));
  }

  private static Future<Void> segment(Task t, List<Step> steps, int i, CopyStatusTable.Entry e) {
    if (i == steps.size()) return Future.succeededFuture();
    Step s = steps.get(i);
    return copy(t, s, e).compose(v -> {
      e.segmentsProcessed = i + 1;
      return segment(t, steps, i + 1, e);
    });
  }

  /** Copies one segment chunk by chunk; backwards when it overlaps itself ahead of the source. */
  static Future<Void> copy(Task t, Step s, CopyStatusTable.Entry e) {
    Segment g = s.segment();
    int bs = s.source().blockSize();
    int chunkBlocks = CopyManagerLimits.CHUNK_BYTES / bs;
    int chunks = (g.blocks() + chunkBlocks - 1) / chunkBlocks;
    boolean backwards = s.source() == s.destination() && g.destinationLba() > g.sourceLba()
        && g.destinationLba() < g.sourceLba() + g.blocks();
    return chunk(t, s, e, chunkBlocks, chunks, 0, backwards);
  }

  private static Future<Void> chunk(Task t, Step s, CopyStatusTable.Entry e, int chunkBlocks, int chunks, int k,
      boolean backwards) {
    if (k == chunks) return Future.succeededFuture();
    // SAM-5 §7.2: an aborted copy stops between chunks; what was copied stays copied.
    if (t.aborted()) return Future.failedFuture(copyAborted(0x00, 0x00));
    Segment g = s.segment();
    int index = backwards ? chunks - 1 - k : k;
    long first = (long) index * chunkBlocks;
    int blocks = (int) Math.min(chunkBlocks, g.blocks() - first);
    long srcLba = g.sourceLba() + first;
    long dstLba = g.destinationLba() + first;
    int bs = s.source().blockSize();
    int bytes = blocks * bs;
    Future<Void> done = s.destination().lockRange(dstLba, blocks).compose(release -> {
      ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(bytes);
      return s.source().store().read(t.context(), buf, srcLba * bs, bytes)
          .compose(v -> s.destination().store().write(t.context(), buf, dstLba * bs, false))
          .andThen(ar -> {
            buf.release();
            release.run();
          });
    });
    return t.onContext(done).compose(v -> {
      e.bytesCopied += bytes;
      return chunk(t, s, e, chunkBlocks, chunks, k + 1, backwards);
    });
  }
}
