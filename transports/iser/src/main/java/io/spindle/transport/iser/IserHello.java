package io.spindle.transport.iser;

import io.netty.buffer.ByteBuf;

/**
 * The iSER Hello and HelloReply messages (RFC 5046 §9.3-9.4, kept by RFC 7145): the initiator
 * announces its iSER versions and its IRD; the target replies with its versions and ORD, or
 * rejects (F bit). Both use the iSER header's space; the rest is reserved. Linux never sends Hello
 * (it logs one as an error), so the target only answers when asked.
 */
public final class IserHello {

  /** RFC 5046's iSER version. */
  public static final int VERSION_RFC5046 = 1;
  /** The version RFC 7145 peers announce (Wireshark accepts only this one; not checked against the RFC). */
  public static final int VERSION_RFC7145 = 10;

  private IserHello() {
  }

  /**
   * Hello.
   *
   * @param maxVersion highest iSER version the initiator supports
   * @param minVersion lowest
   * @param ird the initiator's iSER-IRD
   */
  public record Hello(int maxVersion, int minVersion, int ird) {
    public void encode(ByteBuf out, IserHeader.Format format) {
      out.writeByte(IserHeader.HELLO << 4);
      out.writeByte((maxVersion & 0xf) << 4 | (minVersion & 0xf));
      out.writeShort(ird);
      out.writeZero(format.length - 4);
    }

    /** Decodes the fields after the opcode byte was checked; null when too short. */
    public static Hello decode(ByteBuf in, IserHeader.Format format) {
      if (in.readableBytes() < format.length) return null;
      int i = in.readerIndex();
      Hello h = new Hello(in.getUnsignedByte(i + 1) >>> 4, in.getUnsignedByte(i + 1) & 0xf, in.getUnsignedShort(i + 2));
      in.skipBytes(format.length);
      return h;
    }
  }

  /**
   * HelloReply.
   *
   * @param reject F bit: the target cannot work with the initiator's versions or IRD
   * @param maxVersion highest iSER version the target supports
   * @param currentVersion the version the connection uses
   * @param ord the target's iSER-ORD (at most the initiator's IRD)
   */
  public record HelloReply(boolean reject, int maxVersion, int currentVersion, int ord) {
    public void encode(ByteBuf out, IserHeader.Format format) {
      out.writeByte(IserHeader.HELLO_REPLY << 4 | (reject ? 1 : 0));
      out.writeByte((maxVersion & 0xf) << 4 | (currentVersion & 0xf));
      out.writeShort(ord);
      out.writeZero(format.length - 4);
    }

    public static HelloReply decode(ByteBuf in, IserHeader.Format format) {
      if (in.readableBytes() < format.length) return null;
      int i = in.readerIndex();
      int b1 = in.getUnsignedByte(i + 1);
      HelloReply r = new HelloReply((in.getUnsignedByte(i) & 1) != 0, b1 >>> 4, b1 & 0xf, in.getUnsignedShort(i + 2));
      in.skipBytes(format.length);
      return r;
    }
  }
}
