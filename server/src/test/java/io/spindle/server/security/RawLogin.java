package io.spindle.server.security;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A hand-made login over a plain socket, for exchanges no well-behaved initiator sends (a replayed
 * CHAP response, a reflected challenge). Login Request and Response layouts: RFC 7143 §11.12, §11.13.
 */
final class RawLogin implements AutoCloseable {

  /** One Login Response: status, T bit, stages and the key=value text. */
  record Response(int status, boolean transit, int csg, int nsg, Map<String, String> keys) {
  }

  private final Socket socket;
  private final DataInputStream in;
  private final OutputStream out;
  private final long isid;
  private int cmdSn = 1;
  private int expStatSn;

  RawLogin(int port, long isid) throws IOException {
    this(null, port, isid);
  }

  /** From {@code localHost} (a loopback address of its own such as 127.0.0.2), or any when null. */
  RawLogin(String localHost, int port, long isid) throws IOException {
    socket = new Socket();
    socket.setSoTimeout(60_000);
    if (localHost != null) socket.bind(new InetSocketAddress(localHost, 0));
    socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
    in = new DataInputStream(socket.getInputStream());
    out = socket.getOutputStream();
    this.isid = isid;
  }

  /** Sends one Login Request in the security stage (CSG 0), asking to go on to the operational stage. */
  Response security(String... keyValues) throws IOException {
    StringBuilder text = new StringBuilder();
    for (String kv : keyValues) text.append(kv).append('\0');
    byte[] data = text.toString().getBytes(StandardCharsets.UTF_8);
    byte[] bhs = new byte[48];
    bhs[0] = 0x43; // immediate, Login Request
    bhs[1] = (byte) (0x80 | 0 << 2 | 1); // T, CSG 0, NSG 1
    bhs[5] = (byte) (data.length >> 16);
    bhs[6] = (byte) (data.length >> 8);
    bhs[7] = (byte) data.length;
    for (int i = 0; i < 6; i++) bhs[8 + i] = (byte) (isid >> (40 - 8 * i));
    putInt(bhs, 24, cmdSn);
    putInt(bhs, 28, expStatSn);
    out.write(bhs);
    out.write(data);
    out.write(new byte[(4 - data.length % 4) % 4]);
    out.flush();
    byte[] rh = new byte[48];
    in.readFully(rh);
    int len = (rh[5] & 0xff) << 16 | (rh[6] & 0xff) << 8 | (rh[7] & 0xff);
    byte[] rd = new byte[len + (4 - len % 4) % 4];
    in.readFully(rd);
    expStatSn = getInt(rh, 24) + 1;
    Map<String, String> keys = new LinkedHashMap<>();
    for (String kv : new String(rd, 0, len, StandardCharsets.UTF_8).split("\0")) {
      int eq = kv.indexOf('=');
      if (eq > 0) keys.put(kv.substring(0, eq), kv.substring(eq + 1));
    }
    return new Response((rh[36] & 0xff) << 8 | (rh[37] & 0xff), (rh[1] & 0x80) != 0, (rh[1] >> 2) & 3, rh[1] & 3,
        keys);
  }

  private static void putInt(byte[] b, int at, int v) {
    b[at] = (byte) (v >> 24);
    b[at + 1] = (byte) (v >> 16);
    b[at + 2] = (byte) (v >> 8);
    b[at + 3] = (byte) v;
  }

  private static int getInt(byte[] b, int at) {
    return (b[at] & 0xff) << 24 | (b[at + 1] & 0xff) << 16 | (b[at + 2] & 0xff) << 8 | (b[at + 3] & 0xff);
  }

  static byte[] hex(String v) {
    String h = v.substring(2);
    byte[] b = new byte[h.length() / 2];
    for (int i = 0; i < b.length; i++) b[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
    return b;
  }

  static String hex(byte[] b) {
    StringBuilder s = new StringBuilder("0x");
    for (byte x : b) s.append(String.format("%02x", x));
    return s.toString();
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
