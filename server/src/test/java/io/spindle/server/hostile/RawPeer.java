package io.spindle.server.hostile;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * An iSCSI initiator made by hand over a plain socket, for what no well-behaved initiator sends:
 * lengths of 2^31 and more, floods of pings, commands whose answers it never reads. It logs in
 * without authentication straight into the operational stage (RFC 7143 §6.3) and then sends
 * whatever PDU it is told to; layouts from RFC 7143 §11.
 */
final class RawPeer implements AutoCloseable {

  /** One PDU as received: the 48-byte BHS and the data segment without padding. */
  record In(byte[] bhs, byte[] data) {
    int opcode() {
      return bhs[0] & 0x3f;
    }

    int flags() {
      return bhs[1] & 0xff;
    }

    int int32(int at) {
      return getInt(bhs, at);
    }

    long uint32(int at) {
      return getInt(bhs, at) & 0xffffffffL;
    }

    /** A Login Response's status class and detail (RFC 7143 §11.13.5). */
    int loginStatus() {
      return (bhs[36] & 0xff) << 8 | (bhs[37] & 0xff);
    }
  }

  static final int LOGIN_RESPONSE = 0x23;
  static final int SCSI_RESPONSE = 0x21;
  static final int DATA_IN = 0x25;
  static final int R2T = 0x31;
  static final int NOP_IN = 0x20;
  static final int REJECT = 0x3f;

  final Socket socket;
  private final DataInputStream in;
  private final OutputStream out;
  private int cmdSn = 1;
  private int expStatSn;

  /**
   * Connects from {@code localHost} (any port; 127.0.0.x gives a loopback source address of its own)
   * with the given receive buffer (0: the kernel's default); a small one makes the server's sends queue up.
   */
  RawPeer(String localHost, int port, int receiveBuffer) throws IOException {
    socket = new Socket();
    if (receiveBuffer > 0) socket.setReceiveBufferSize(receiveBuffer);
    socket.setSoTimeout(20_000);
    socket.setTcpNoDelay(true);
    if (localHost != null) socket.bind(new InetSocketAddress(localHost, 0));
    socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
    in = new DataInputStream(socket.getInputStream());
    out = new java.io.BufferedOutputStream(socket.getOutputStream(), 65536);
  }

  RawPeer(int port) throws IOException {
    this(null, port, 0);
  }

  /** Over a socket already connected (for example one of a {@link java.nio.channels.SocketChannel}). */
  RawPeer(Socket connected) throws IOException {
    socket = connected;
    in = new DataInputStream(socket.getInputStream());
    out = new java.io.BufferedOutputStream(socket.getOutputStream(), 65536);
  }

  /**
   * Logs in to {@code target} as {@code initiator} (operational stage only, no authentication).
   *
   * @return the final Login Response's status: 0 when the full feature phase started
   */
  int login(String initiator, String target, String... keys) throws IOException {
    StringBuilder text = new StringBuilder();
    text.append("InitiatorName=").append(initiator).append('\0');
    text.append("TargetName=").append(target).append('\0');
    text.append("SessionType=Normal\0HeaderDigest=None\0DataDigest=None\0InitialR2T=Yes\0ImmediateData=Yes\0");
    text.append("MaxRecvDataSegmentLength=8192\0ErrorRecoveryLevel=0\0");
    for (String k : keys) text.append(k).append('\0');
    byte[] data = text.toString().getBytes(StandardCharsets.UTF_8);
    for (int round = 0; round < 4; round++) {
      byte[] bhs = new byte[48];
      bhs[0] = 0x43; // immediate, Login Request
      bhs[1] = (byte) (0x80 | 1 << 2 | 3); // T, CSG 1, NSG 3
      bhs[8] = 0x40; // ISID type "random", RFC 7143 §10.12.5
      bhs[13] = 1;
      putInt(bhs, 24, cmdSn);
      putInt(bhs, 28, expStatSn);
      send(bhs, data);
      flush();
      In r = read();
      if (r.opcode() != LOGIN_RESPONSE) throw new IOException("expected a Login Response, got opcode " + r.opcode());
      if (r.loginStatus() != 0) return r.loginStatus();
      if ((r.flags() & 0x80) != 0 && (r.flags() & 3) == 3) return 0;
      data = new byte[0];
    }
    throw new IOException("no end of login after 4 rounds");
  }

  /** Sends a SCSI Command (RFC 7143 §11.3) with the F bit; {@code edtl}'s low 32 bits go on the wire. */
  void command(int itt, byte[] cdb, long edtl, boolean read, boolean write) throws IOException {
    byte[] bhs = new byte[48];
    bhs[0] = 0x01;
    bhs[1] = (byte) (0x80 | (read ? 0x40 : 0) | (write ? 0x20 : 0) | 1); // F, R, W, SIMPLE
    bhs[9] = 0; // LUN 0
    putInt(bhs, 16, itt);
    putInt(bhs, 20, (int) edtl);
    putInt(bhs, 24, cmdSn++);
    putInt(bhs, 28, expStatSn);
    System.arraycopy(cdb, 0, bhs, 32, cdb.length);
    send(bhs, new byte[0]);
  }

  /** Sends one Data-Out (RFC 7143 §11.7) answering R2T {@code ttt}. */
  void dataOut(int itt, int ttt, int dataSn, long offset, byte[] data, boolean last) throws IOException {
    byte[] bhs = new byte[48];
    bhs[0] = 0x05;
    bhs[1] = (byte) (last ? 0x80 : 0);
    putInt(bhs, 16, itt);
    putInt(bhs, 20, ttt);
    putInt(bhs, 28, expStatSn);
    putInt(bhs, 36, dataSn);
    putInt(bhs, 40, (int) offset);
    send(bhs, data);
  }

  /** The bytes of an immediate NOP-Out ping with {@code payload} bytes of data (for floods). */
  byte[] nopOutBytes(int itt, int payload) {
    byte[] bhs = new byte[48];
    bhs[0] = 0x40;
    bhs[1] = (byte) 0x80;
    putInt(bhs, 16, itt);
    putInt(bhs, 20, 0xffffffff);
    putInt(bhs, 24, cmdSn);
    putInt(bhs, 28, expStatSn);
    return frame(bhs, new byte[payload]);
  }

  /** The bytes of a SCSI Command (next CmdSN) for floods. */
  byte[] commandBytes(int itt, byte[] cdb, long edtl, boolean read, boolean write) {
    byte[] bhs = new byte[48];
    bhs[0] = 0x01;
    bhs[1] = (byte) (0x80 | (read ? 0x40 : 0) | (write ? 0x20 : 0) | 1);
    putInt(bhs, 16, itt);
    putInt(bhs, 20, (int) edtl);
    putInt(bhs, 24, cmdSn++);
    putInt(bhs, 28, expStatSn);
    System.arraycopy(cdb, 0, bhs, 32, cdb.length);
    return frame(bhs, new byte[0]);
  }

  private static byte[] frame(byte[] bhs, byte[] data) {
    bhs[5] = (byte) (data.length >> 16);
    bhs[6] = (byte) (data.length >> 8);
    bhs[7] = (byte) data.length;
    byte[] b = new byte[48 + data.length + (4 - data.length % 4) % 4];
    System.arraycopy(bhs, 0, b, 0, 48);
    System.arraycopy(data, 0, b, 48, data.length);
    return b;
  }

  /** Sends an immediate NOP-Out ping asking for a NOP-In (RFC 7143 §11.18) with {@code payload} bytes of data. */
  void nopOut(int itt, int payload) throws IOException {
    byte[] bhs = new byte[48];
    bhs[0] = 0x40; // immediate NOP-Out
    bhs[1] = (byte) 0x80;
    putInt(bhs, 16, itt);
    putInt(bhs, 20, 0xffffffff);
    putInt(bhs, 24, cmdSn);
    putInt(bhs, 28, expStatSn);
    send(bhs, new byte[payload]);
  }

  /** Sends an immediate Text Request (RFC 7143 §11.10) with the given key=value text. */
  void text(int itt, String keys) throws IOException {
    byte[] data = keys.getBytes(StandardCharsets.UTF_8);
    byte[] bhs = new byte[48];
    bhs[0] = 0x44; // immediate Text Request
    bhs[1] = (byte) 0x80;
    putInt(bhs, 16, itt);
    putInt(bhs, 20, 0xffffffff);
    putInt(bhs, 24, cmdSn);
    putInt(bhs, 28, expStatSn);
    send(bhs, data);
  }

  void send(byte[] bhs, byte[] data) throws IOException {
    bhs[5] = (byte) (data.length >> 16);
    bhs[6] = (byte) (data.length >> 8);
    bhs[7] = (byte) data.length;
    out.write(bhs);
    out.write(data);
    out.write(new byte[(4 - data.length % 4) % 4]);
  }

  void flush() throws IOException {
    out.flush();
  }

  /** Reads one PDU; status-carrying ones advance ExpStatSN. */
  In read() throws IOException {
    byte[] bhs = new byte[48];
    in.readFully(bhs);
    int ahs = (bhs[4] & 0xff) * 4;
    int len = (bhs[5] & 0xff) << 16 | (bhs[6] & 0xff) << 8 | (bhs[7] & 0xff);
    in.skipNBytes(ahs);
    byte[] data = new byte[len];
    in.readFully(data);
    in.skipNBytes((4 - len % 4) % 4);
    In pdu = new In(bhs, data);
    int op = pdu.opcode();
    boolean status = op == SCSI_RESPONSE || op == LOGIN_RESPONSE || op == REJECT
        || (op == NOP_IN && pdu.int32(16) != -1) || (op == DATA_IN && (pdu.flags() & 0x01) != 0) || op == 0x22
        || op == 0x24 || op == 0x26;
    if (status) expStatSn = pdu.int32(24) + 1;
    return pdu;
  }

  /** Reads until a PDU of {@code opcode} arrives (skipping NOP-In pings and others). */
  In readUntil(int opcode) throws IOException {
    for (int i = 0; i < 1000; i++) {
      In p = read();
      if (p.opcode() == opcode) return p;
    }
    throw new IOException("no PDU of opcode 0x" + Integer.toHexString(opcode) + " in 1000");
  }

  static byte[] cdb10(int opcode, long lba, int blocks) {
    byte[] c = new byte[16];
    c[0] = (byte) opcode;
    putInt(c, 2, (int) lba);
    c[7] = (byte) (blocks >> 8);
    c[8] = (byte) blocks;
    return c;
  }

  static void putInt(byte[] b, int at, int v) {
    b[at] = (byte) (v >> 24);
    b[at + 1] = (byte) (v >> 16);
    b[at + 2] = (byte) (v >> 8);
    b[at + 3] = (byte) v;
  }

  static int getInt(byte[] b, int at) {
    return (b[at] & 0xff) << 24 | (b[at + 1] & 0xff) << 16 | (b[at + 2] & 0xff) << 8 | (b[at + 3] & 0xff);
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
