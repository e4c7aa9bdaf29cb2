#!/usr/bin/env python3
"""Issue 21 against a running Spindle process, measured by its RSS: one logged-in peer floods
NOP-Out pings (or READ(10)s of 64 KiB) and never reads the answers.

  ops/hostile/rss_flood.py --pid PID [--host 127.0.0.1] [--port 3260]
      [--target iqn.2026-11.io.spindle:demo] [--mode nop|read] [--seconds 45]

Prints the server's VmRSS before, the highest seen while flooding, and after; when the server
stopped taking our bytes; and when it closed the connection (negotiation.outboundStallTimeout).
"""
import argparse, socket, struct, time, errno

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1

def pdu(bhs, data=b""):
    bhs = bytearray(bhs)
    n = len(data)
    bhs[5:8] = n.to_bytes(3, "big")
    return bytes(bhs) + data + b"\0" * ((4 - n % 4) % 4)

def login(s, initiator, target):
    text = (f"InitiatorName={initiator}\0TargetName={target}\0SessionType=Normal\0HeaderDigest=None\0"
            "DataDigest=None\0InitialR2T=Yes\0ImmediateData=Yes\0MaxRecvDataSegmentLength=8192\0"
            "ErrorRecoveryLevel=0\0").encode()
    bhs = bytearray(48)
    bhs[0] = 0x43; bhs[1] = 0x80 | (1 << 2) | 3; bhs[8] = 0x40; bhs[13] = 1
    struct.pack_into(">I", bhs, 24, 1)
    s.sendall(pdu(bhs, text))
    r = s.recv(48, socket.MSG_WAITALL)
    status = r[36] << 8 | r[37]
    n = int.from_bytes(r[5:8], "big")
    s.recv(n + (4 - n % 4) % 4, socket.MSG_WAITALL)
    if status != 0 or not (r[1] & 0x80):
        raise SystemExit(f"login status 0x{status:04x}")

def main():
    a = argparse.ArgumentParser()
    a.add_argument("--pid", type=int, required=True)
    a.add_argument("--host", default="127.0.0.1")
    a.add_argument("--port", type=int, default=3260)
    a.add_argument("--target", default="iqn.2026-11.io.spindle:demo")
    a.add_argument("--mode", choices=["nop", "read"], default="nop")
    a.add_argument("--seconds", type=int, default=45)
    o = a.parse_args()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((o.host, o.port))
    login(s, "iqn.2026-11.io.spindle:hostile-" + o.mode, o.target)
    s.setblocking(False)
    before = rss_kib(o.pid)
    chunk = bytearray()
    cmdsn = 1
    for i in range(2000):
        bhs = bytearray(48)
        if o.mode == "nop":
            bhs[0] = 0x40; bhs[1] = 0x80
            struct.pack_into(">III", bhs, 16, 0x10000000 + i, 0xffffffff, 1)
            chunk += pdu(bhs, b"x" * 64)
        else:
            bhs[0] = 0x01; bhs[1] = 0x80 | 0x40 | 1
            struct.pack_into(">III", bhs, 16, i + 1, 65536, cmdsn); cmdsn += 1
            bhs[32] = 0x28; struct.pack_into(">I", bhs, 34, (i * 128) % 2_000_000); bhs[39] = 0; bhs[40] = 128
            chunk += pdu(bhs)
    chunk = bytes(chunk)
    start = time.time(); last_taken = start; peak = before; closed = None; pos = 0; sent = 0
    next_sample = start
    while time.time() - start < o.seconds:
        try:
            n = s.send(chunk[pos:])
            sent += n; pos = (pos + n) % len(chunk); last_taken = time.time()
            if o.mode == "read" and sent > 10000 * 48:
                time.sleep(0.05)  # the 10,000 READs of the issue are in; wait for the close
        except BlockingIOError:
            time.sleep(0.005)
        except OSError as e:
            closed = time.time(); break
        if time.time() >= next_sample:
            peak = max(peak, rss_kib(o.pid)); next_sample = time.time() + 0.25
    if closed is None:
        # Not reading: a reset shows when the server closed with our bytes unread.
        t_end = time.time() + 10
        while time.time() < t_end and closed is None:
            try:
                if s.recv(4096) == b"":
                    closed = time.time()
            except BlockingIOError:
                time.sleep(0.1)
            except OSError:
                closed = time.time()
    time.sleep(2)
    after = rss_kib(o.pid)
    print(f"mode={o.mode} rss before {before/1024:.0f} MiB, peak {peak/1024:.0f} MiB, after {after/1024:.0f} MiB; "
          f"sent {sent/1048576:.1f} MiB; server last took bytes at {last_taken-start:.1f} s; "
          + (f"closed at {closed-start:.1f} s" if closed else "not closed"))

if __name__ == "__main__":
    main()
