package io.spindle.scsi.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** EXTENDED COPY (LID1) and RECEIVE COPY RESULTS against a memory LU (SPC-4 §6.4, §6.18). */
class ExtendedCopyTest extends EngineTestBase {

  private byte[] naa() throws Exception {
    byte[] inq = cdb(0x12, 6);
    inq[1] = 1;
    inq[2] = (byte) 0x83;
    inq[4] = (byte) 255;
    byte[] d = run(N1, inq, null, 255, true).data();
    // First designator: NAA, binary, LU association, 16 bytes.
    assertEquals(0x03, d[5] & 0x3F);
    return Arrays.copyOfRange(d, 8, 24);
  }

  private static byte[] cscd(byte[] naa, int type) {
    ByteBuffer b = ByteBuffer.allocate(32);
    b.put((byte) type).put((byte) 0).putShort((short) 0);
    b.put((byte) 0x01).put((byte) 0x03).put((byte) 0).put((byte) naa.length).put(naa);
    b.position(28);
    b.put((byte) 0).put((byte) 0).putShort((short) 512);
    return b.array();
  }

  private static byte[] segment(int type, int src, int dst, int blocks, long srcLba, long dstLba) {
    ByteBuffer b = ByteBuffer.allocate(28);
    b.put((byte) type).put((byte) 0).putShort((short) 0x18).putShort((short) src).putShort((short) dst);
    b.putShort((short) 0).putShort((short) blocks).putLong(srcLba).putLong(dstLba);
    return b.array();
  }

  private static byte[] list(int listId, int usage, byte[][] cscds, byte[][] segments) {
    int t = 0;
    int s = 0;
    for (byte[] c : cscds) t += c.length;
    for (byte[] g : segments) s += g.length;
    ByteBuffer b = ByteBuffer.allocate(16 + t + s);
    b.put((byte) listId).put((byte) (usage << 3)).putShort((short) t).putInt(0).putInt(s).putInt(0);
    for (byte[] c : cscds) b.put(c);
    for (byte[] g : segments) b.put(g);
    return b.array();
  }

  private Outcome xcopy(byte[] param, int length) throws Exception {
    byte[] c = cdb(0x83, 16);
    ByteBuffer.wrap(c, 10, 4).putInt(length);
    return run(N1, c, param, param == null ? 0 : param.length, false);
  }

  private Outcome xcopy(byte[] param) throws Exception {
    return xcopy(param, param.length);
  }

  private Outcome receiveCopyResults(int sa, int listId) throws Exception {
    byte[] c = cdb(0x84, 16);
    c[1] = (byte) sa;
    c[2] = (byte) listId;
    ByteBuffer.wrap(c, 10, 4).putInt(1024);
    return run(N1, c, null, 1024, true);
  }

  private byte[] read(long lba, int blocks) throws Exception {
    return run(N1, rw10(0x28, lba, blocks), null, blocks * 512, true).data();
  }

  @Test
  void copiesBlocksWithinTheLogicalUnit() throws Exception {
    assertGood(run(N1, rw10(0x2A, 0, 4), fill(2048, 0x5A), 2048, false));
    byte[] naa = naa();
    assertGood(xcopy(list(1, 2, new byte[][] {cscd(naa, 0xE4)}, new byte[][] {segment(2, 0, 0, 4, 0, 100)})));
    assertArrayEquals(fill(2048, 0x5A), read(100, 4));
  }

  @Test
  void overlappingCopyReadsBeforeItWrites() throws Exception {
    for (int i = 0; i < 8; i++) assertGood(run(N1, rw10(0x2A, i, 1), fill(512, i + 1), 512, false));
    byte[] naa = naa();
    assertGood(xcopy(list(0, 3, new byte[][] {cscd(naa, 0xE4)}, new byte[][] {segment(2, 0, 0, 8, 0, 2)})));
    for (int i = 0; i < 8; i++) assertArrayEquals(fill(512, i + 1), read(2 + i, 1), "block " + (2 + i));
  }

  @Test
  void emptyParameterListIsNotAnError() throws Exception {
    assertGood(xcopy(null, 0));
  }

  @Test
  void parameterListChecks() throws Exception {
    byte[] naa = naa();
    byte[] good = list(1, 0, new byte[][] {cscd(naa, 0xE4)}, new byte[][] {segment(2, 0, 0, 1, 0, 1)});
    // Truncated inside the CSCD descriptor and inside the segment descriptor.
    assertCheck(xcopy(Arrays.copyOf(good, 47)), SenseData.ILLEGAL_REQUEST, 0x1A);
    assertCheck(xcopy(Arrays.copyOf(good, good.length - 1)), SenseData.ILLEGAL_REQUEST, 0x1A);
    // Unsupported CSCD (FC N_Port_Name) and segment (stream to stream) types: 26h/07h, 26h/09h.
    Outcome o = xcopy(list(1, 0, new byte[][] {cscd(naa, 0xE0)}, new byte[][] {segment(2, 0, 0, 1, 0, 1)}));
    assertCheck(o, SenseData.ILLEGAL_REQUEST, 0x26);
    assertEquals(0x07, o.sense()[13]);
    o = xcopy(list(1, 0, new byte[][] {cscd(naa, 0xE4)}, new byte[][] {segment(3, 0, 0, 1, 0, 1)}));
    assertEquals(0x09, o.sense()[13]);
    // LIST ID USAGE 01b is reserved; 11b needs a zero list identifier.
    assertCheck(xcopy(list(1, 1, new byte[][] {cscd(naa, 0xE4)}, new byte[][] {segment(2, 0, 0, 1, 0, 1)})),
        SenseData.ILLEGAL_REQUEST, 0x26);
    assertCheck(xcopy(list(1, 3, new byte[][] {cscd(naa, 0xE4)}, new byte[][] {segment(2, 0, 0, 1, 0, 1)})),
        SenseData.ILLEGAL_REQUEST, 0x26);
  }

  @Test
  void descriptorLimits() throws Exception {
    byte[] naa = naa();
    byte[][] nineCscds = new byte[9][];
    Arrays.fill(nineCscds, cscd(naa, 0xE4));
    Outcome o = xcopy(list(1, 0, nineCscds, new byte[][] {segment(2, 0, 0, 1, 0, 1)}));
    assertCheck(o, SenseData.ILLEGAL_REQUEST, 0x26);
    assertEquals(0x06, o.sense()[13]); // TOO MANY TARGET DESCRIPTORS
    byte[][] segments = new byte[65][];
    Arrays.fill(segments, segment(2, 0, 0, 1, 0, 1));
    o = xcopy(list(2, 0, new byte[][] {cscd(naa, 0xE4)}, segments));
    assertEquals(0x08, o.sense()[13]); // TOO MANY SEGMENT DESCRIPTORS
    // Both lists over the maximum descriptor list length: PARAMETER LIST LENGTH ERROR.
    assertCheck(xcopy(list(3, 0, nineCscds, segments)), SenseData.ILLEGAL_REQUEST, 0x1A);
  }

  @Test
  void segmentsThatCannotCompleteAbortBeforeAnyBlockMoves() throws Exception {
    byte[] naa = naa();
    assertGood(run(N1, rw10(0x2A, BLOCKS - 1, 1), fill(512, 0x77), 512, false));
    byte[] other = naa.clone();
    other[15] ^= 1;
    // A designator that names no LU here, and a CSCD index past the list: COPY TARGET DEVICE NOT REACHABLE.
    Outcome o = xcopy(list(1, 0, new byte[][] {cscd(other, 0xE4)}, new byte[][] {segment(2, 0, 0, 1, 0, 1)}));
    assertCheck(o, SenseData.COPY_ABORTED, 0x0D);
    o = xcopy(list(1, 0, new byte[][] {cscd(naa, 0xE4)}, new byte[][] {segment(2, 0, 1, 1, 0, 1)}));
    assertCheck(o, SenseData.COPY_ABORTED, 0x0D);
    // The second segment runs past the end: the first one must not have been copied either.
    o = xcopy(list(1, 0, new byte[][] {cscd(naa, 0xE4)},
        new byte[][] {segment(2, 0, 0, 1, 0, BLOCKS - 1), segment(2, 0, 0, 2, 0, BLOCKS - 1)}));
    assertCheck(o, SenseData.COPY_ABORTED, 0x00);
    assertArrayEquals(fill(512, 0x77), read(BLOCKS - 1, 1));
    // Nothing began, so no status is held for list 1.
    assertCheck(receiveCopyResults(0, 1), SenseData.ILLEGAL_REQUEST, 0x24);
  }

  @Test
  void copyStatusIsHeldOnceForListIdUsage00() throws Exception {
    byte[] naa = naa();
    assertCheck(receiveCopyResults(0, 7), SenseData.ILLEGAL_REQUEST, 0x24);
    assertGood(xcopy(list(7, 0, new byte[][] {cscd(naa, 0xE4)}, new byte[][] {segment(2, 0, 0, 4, 0, 8)})));
    Outcome o = receiveCopyResults(0, 7);
    assertGood(o);
    byte[] d = o.data();
    assertEquals(12, d.length);
    assertEquals(0x01, d[4]); // completed without errors
    assertEquals(1, d[6]); // segments processed
    assertEquals(2048, ByteBuffer.wrap(d, 8, 4).getInt());
    assertCheck(receiveCopyResults(0, 7), SenseData.ILLEGAL_REQUEST, 0x24);
    // LIST ID USAGE 10b: nothing held.
    assertGood(xcopy(list(8, 2, new byte[][] {cscd(naa, 0xE4)}, new byte[][] {segment(2, 0, 0, 1, 0, 8)})));
    assertCheck(receiveCopyResults(0, 8), SenseData.ILLEGAL_REQUEST, 0x24);
  }

  @Test
  void heldCopyStatusIsDroppedWithItsNexus() throws Exception {
    byte[] naa = naa();
    assertGood(xcopy(list(9, 0, new byte[][] {cscd(naa, 0xE4)}, new byte[][] {segment(2, 0, 0, 4, 0, 8)})));
    target.nexusLost(N1);
    assertCheck(receiveCopyResults(0, 9), SenseData.ILLEGAL_REQUEST, 0x24);
  }

  @Test
  void operatingParametersAndVpdPageAgree() throws Exception {
    byte[] d = receiveCopyResults(3, 0).data();
    ByteBuffer b = ByteBuffer.wrap(d);
    assertEquals(d.length - 4, b.getInt(0));
    assertEquals(8, b.getShort(8));
    assertEquals(64, b.getShort(10));
    assertEquals(8 * 32 + 64 * 28, b.getInt(12));
    assertEquals(9, d[37]); // data segment granularity 2^9
    assertEquals(2, d[43]);
    assertEquals(0x02, d[44]);
    assertEquals((byte) 0xE4, d[45]);

    byte[] inq = cdb(0x12, 6);
    inq[4] = 96;
    assertTrue((run(N1, inq, null, 96, true).data()[5] & 0x08) != 0, "3PC");
    inq[1] = 1;
    inq[4] = (byte) 255;
    byte[] pages = run(N1, inq, null, 255, true).data();
    boolean listed = false;
    for (int i = 4; i < pages.length; i++) listed |= (pages[i] & 0xFF) == 0x8F;
    assertTrue(listed, "VPD 8Fh listed");
    inq[2] = (byte) 0x8F;
    byte[] tpc = run(N1, inq, null, 255, true).data();
    assertEquals((byte) 0x8F, tpc[1]);
    assertEquals(tpc.length - 4, ByteBuffer.wrap(tpc).getShort(2));
    // First descriptor: Supported Commands, listing 83h and 84h.
    assertEquals(0x0001, ByteBuffer.wrap(tpc).getShort(4));
    assertEquals((byte) 0x83, tpc[9]);
  }
}
