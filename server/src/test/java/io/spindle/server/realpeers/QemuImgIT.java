package io.spindle.server.realpeers;

import static io.spindle.server.realpeers.RealPeers.IQN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spindle.server.realpeers.RealPeers.Running;
import io.spindle.server.realpeers.RealPeers.ToolRun;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * qemu-img's iSCSI block driver (libiscsi inside qemu, Debian qemu-block-extra) writes and reads
 * whole images through the server: large multi-PDU WRITEs and READs, then the data must match
 * the source byte for byte, on the wire and in the backing file, and across a server restart.
 */
class QemuImgIT {

  private static final int MIB = 1024 * 1024;

  @TempDir
  Path dir;

  @BeforeEach
  void needsQemuIscsi() throws Exception {
    RealPeers.assumeTool("qemu-img", "qemu-utils");
    ToolRun help = RealPeers.run(dir, "qemu-img", "--help");
    Assumptions.assumeTrue(help.output().lines().anyMatch(l -> l.startsWith("Supported formats:")
        && l.contains(" iscsi")), "qemu-img has no iscsi driver: install qemu-block-extra");
  }

  @Test
  void imageWrittenToAFileLunReadsBackIdenticalAfterARestart() throws Exception {
    Path source = randomFile("source.img", 64 * MIB, 1);
    Path lunFile = dir.resolve("lun0.img");
    // The LUN is exactly the image's size so that compare -s (strict: sizes must match too) applies.
    try (Running server = Running.start(RealPeers.config(RealPeers.fileLun(0, lunFile, "64M")))) {
      String url = server.lunUrl(IQN, 0);
      // -n: the target exists; qemu-img must not try to create it.
      RealPeers.run(dir, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", source.toString(), url)
          .assertSucceeded();
      assertIdentical(source, url);
    }
    // A clean stop flushed everything to the backing file.
    assertEquals(-1L, Files.mismatch(source, lunFile), "backing file differs from the image written");

    try (Running server = Running.start(RealPeers.config(RealPeers.fileLun(0, lunFile, "64M")))) {
      String url = server.lunUrl(IQN, 0);
      assertIdentical(source, url);
      // The control: one changed byte is seen, so "identical" above came from reading the LUN.
      Path changed = dir.resolve("changed.img");
      Files.copy(source, changed);
      long at = 40L * MIB + 123;
      flipByte(changed, at);
      ToolRun r = RealPeers.run(dir, "qemu-img", "compare", "-s", "-f", "raw", "-F", "raw", changed.toString(), url);
      assertEquals(1, r.exitCode(), r::describe);
      // qemu-img names the first differing 512-byte sector, by its byte offset.
      assertTrue(r.output().contains("Content mismatch at offset " + at / 512 * 512 + "!"), r::describe);
    }
  }

  @Test
  void memoryLunRoundTrip() throws Exception {
    Path source = randomFile("source.img", 8 * MIB, 2);
    try (Running server = Running.start(RealPeers.config(RealPeers.memoryLun(0, "8M")))) {
      String url = server.lunUrl(IQN, 0);
      RealPeers.run(dir, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", source.toString(), url)
          .assertSucceeded();
      assertIdentical(source, url);
      // Read it all back into a local file as well: the READ path on its own, checked here, not by qemu.
      Path back = dir.resolve("back.img");
      RealPeers.run(dir, "qemu-img", "convert", "-f", "raw", "-O", "raw", url, back.toString()).assertSucceeded();
      assertEquals(-1L, Files.mismatch(source, back), "image read back differs from the image written");
    }
  }

  private void assertIdentical(Path source, String url) throws Exception {
    ToolRun r = RealPeers.run(dir, "qemu-img", "compare", "-s", "-f", "raw", "-F", "raw", source.toString(), url);
    assertEquals(0, r.exitCode(), r::describe);
    assertTrue(r.output().contains("Images are identical."), r::describe);
  }

  /** Pseudo-random content from a fixed seed: incompressible, and the same on every run. */
  private Path randomFile(String name, int size, long seed) throws IOException {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return Files.write(dir.resolve(name), b);
  }

  private static void flipByte(Path file, long at) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer one = ByteBuffer.allocate(1);
      ch.read(one, at);
      one.put(0, (byte) ~one.get(0)).rewind();
      ch.write(one, at);
    }
  }
}
