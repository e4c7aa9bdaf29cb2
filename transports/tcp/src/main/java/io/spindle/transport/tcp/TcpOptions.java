package io.spindle.transport.tcp;

import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServerOptions;

/**
 * Socket options of a TCP portal. Defaults suit storage traffic: no Nagle delay, keepalive to
 * notice dead initiators, large socket buffers for streaming reads and writes.
 *
 * @param sendBufferSize SO_SNDBUF bytes, 0 for the kernel default
 * @param receiveBufferSize SO_RCVBUF bytes, 0 for the kernel default
 */
public record TcpOptions(int sendBufferSize, int receiveBufferSize) {

  public static final int DEFAULT_SEND_BUFFER_SIZE = 0;
  public static final int DEFAULT_RECEIVE_BUFFER_SIZE = 0;

  public static TcpOptions fromJson(JsonObject json) {
    int snd = json.getInteger("sendBufferSize", DEFAULT_SEND_BUFFER_SIZE);
    int rcv = json.getInteger("receiveBufferSize", DEFAULT_RECEIVE_BUFFER_SIZE);
    if (snd < 0) throw new IllegalArgumentException("sendBufferSize: " + snd + " must not be negative");
    if (rcv < 0) throw new IllegalArgumentException("receiveBufferSize: " + rcv + " must not be negative");
    return new TcpOptions(snd, rcv);
  }

  NetServerOptions serverOptions(String host, int port) {
    NetServerOptions o = new NetServerOptions().setHost(host).setPort(port).setTcpNoDelay(true).setTcpKeepAlive(true)
        .setReuseAddress(true);
    if (sendBufferSize > 0) o.setSendBufferSize(sendBufferSize);
    if (receiveBufferSize > 0) o.setReceiveBufferSize(receiveBufferSize);
    return o;
  }
}
