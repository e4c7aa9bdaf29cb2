#!/usr/bin/env python3
"""QD1 latency of one iSCSI LUN: a minimal single-connection initiator that times every command.

qemu-img bench reports only a total time, so it cannot give percentiles. This tool logs in
(operational stage only, no authentication, no digests), then issues one 4 KiB READ(16) or
WRITE(16) at a time at random 4 KiB-aligned offsets and records, per command, the wall time from
handing the Command PDU to the kernel until the status (SCSI Response, or Data-In with the S bit)
has been read back. Writes carry their data as immediate data when the target allows it and
answer R2Ts otherwise.

What the number contains: loopback TCP both ways, the target's full processing, and this
client's own Python overhead (a few tens of microseconds, identical for every target measured on
the same machine). It is therefore an honest *comparison* between targets, and an upper bound on
either target's own latency, not the latency a kernel initiator would see.

usage: qd1lat.py HOST PORT TARGET_IQN LUN [--count N] [--warmup N] [--span BYTES] [--seed S]
prints one JSON object: {"read": {...}, "write": {...}} with n, mean, p50, p90, p99, p999, max in us.
"""
import argparse
import json
import os
import random
import socket
import struct
import sys
import time

BLOCK = 4096

# RFC 7143 §11 opcodes.
OP_NOP_OUT, OP_SCSI_CMD, OP_LOGIN_REQ, OP_DATA_OUT, OP_LOGOUT_REQ = 0x00, 0x01, 0x03, 0x05, 0x06
OP_NOP_IN, OP_SCSI_RSP, OP_LOGIN_RSP, OP_DATA_IN, OP_LOGOUT_RSP, OP_R2T, OP_REJECT = (
    0x20, 0x21, 0x23, 0x25, 0x26, 0x31, 0x3F)
RESERVED_TAG = 0xFFFFFFFF


def pad4(n):
    return (4 - n % 4) % 4


class Initiator:
    def __init__(self, host, port, target, lun):
        self.sock = socket.create_connection((host, port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.target = target
        # RFC 7143 §11.3.4: single level LUN structure, peripheral device addressing (SAM-5 4.7).
        self.lun = struct.pack(">HHI", lun & 0x3FFF, 0, 0)
        self.itt = 0
        self.cmdsn = 1
        self.expstatsn = 0
        self.immediate_limit = 0

    # --- framing -------------------------------------------------------------------------------
    def recv_exact(self, n):
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            k = self.sock.recv_into(view[got:], n - got)
            if k == 0:
                raise ConnectionError("target closed the connection")
            got += k
        return buf

    def recv_pdu(self):
        bhs = self.recv_exact(48)
        ahs_len = bhs[4] * 4
        dlen = int.from_bytes(bhs[5:8], "big")
        rest = ahs_len + dlen + pad4(dlen)
        data = self.recv_exact(rest)[ahs_len:ahs_len + dlen] if rest else b""
        return bhs, data

    def send(self, bhs, data=b""):
        self.sock.sendall(bytes(bhs) + data + b"\0" * pad4(len(data)))

    def next_itt(self):
        self.itt = (self.itt + 1) & 0x7FFFFFFF
        return self.itt

    def note_statsn(self, bhs):
        self.expstatsn = (struct.unpack_from(">I", bhs, 24)[0] + 1) & 0xFFFFFFFF

    # --- login ---------------------------------------------------------------------------------
    def login(self):
        keys = {
            "InitiatorName": "iqn.2026-11.io.spindle:bench-qd1lat",
            "TargetName": self.target,
            "SessionType": "Normal",
            "HeaderDigest": "None",
            "DataDigest": "None",
            "MaxRecvDataSegmentLength": "262144",
            "ImmediateData": "Yes",
            "InitialR2T": "No",
            "FirstBurstLength": "65536",
            "MaxBurstLength": "262144",
            "MaxOutstandingR2T": "1",
            "ErrorRecoveryLevel": "0",
            "MaxConnections": "1",
            "DefaultTime2Wait": "2",
            "DefaultTime2Retain": "0",
            "DataPDUInOrder": "Yes",
            "DataSequenceInOrder": "Yes",
        }
        isid = bytes([0x80, 0x00, 0x42, 0x42, 0x00, os.getpid() & 0xFF])
        answered = {}
        itt = self.next_itt()
        payload = "".join(f"{k}={v}\0" for k, v in keys.items()).encode()
        for _ in range(8):
            bhs = bytearray(48)
            bhs[0] = 0x40 | OP_LOGIN_REQ
            bhs[1] = 0x80 | (1 << 2) | 3  # T=1, CSG=operational, NSG=full feature (RFC 7143 §11.12)
            bhs[5:8] = len(payload).to_bytes(3, "big")
            bhs[8:14] = isid
            struct.pack_into(">IHxxII", bhs, 16, itt, 0, self.cmdsn, self.expstatsn)
            self.send(bhs, payload)
            rsp, data = self.recv_pdu()
            if rsp[0] & 0x3F != OP_LOGIN_RSP:
                raise RuntimeError(f"unexpected opcode {rsp[0]:#x} during login")
            if rsp[36] != 0:
                raise RuntimeError(f"login failed: status class {rsp[36]} detail {rsp[37]}")
            self.note_statsn(rsp)
            for kv in data.decode(errors="replace").split("\0"):
                if "=" in kv:
                    k, v = kv.split("=", 1)
                    answered[k] = v
            if rsp[1] & 0x80 and rsp[1] & 0x03 == 3:
                break
            payload = b""  # RFC 7143 §6.2: keep asking for the transit with an empty request
        else:
            raise RuntimeError("target never agreed to enter the full feature phase")
        self.cmdsn = struct.unpack_from(">I", rsp, 28)[0]  # ExpCmdSN
        target_mrdsl = int(answered.get("MaxRecvDataSegmentLength", "8192"))
        first_burst = min(65536, int(answered.get("FirstBurstLength", "65536")))
        if answered.get("ImmediateData", "Yes") == "Yes":
            self.immediate_limit = min(target_mrdsl, first_burst)
        return answered

    def logout(self):
        try:
            bhs = bytearray(48)
            bhs[0] = 0x40 | OP_LOGOUT_REQ
            bhs[1] = 0x80  # reason 0: close the session
            struct.pack_into(">IHxxII", bhs, 16, self.next_itt(), 0, self.cmdsn, self.expstatsn)
            self.send(bhs)
            self.recv_pdu()
        except OSError:
            pass
        self.sock.close()

    # --- commands ------------------------------------------------------------------------------
    def command(self, cdb, read_len=0, write_data=b""):
        """Issue one command and wait for its status; returns (status, sense_or_data)."""
        itt = self.next_itt()
        wlen = len(write_data)
        # F=1: no unsolicited Data-Out follows; anything beyond the immediate data waits for R2Ts.
        flags = 0x80 | 0x01  # F, ATTR=SIMPLE
        if read_len:
            flags |= 0x40
        if wlen:
            flags |= 0x20
        immediate = write_data[:self.immediate_limit] if wlen else b""
        bhs = bytearray(48)
        bhs[0] = OP_SCSI_CMD
        bhs[1] = flags
        bhs[5:8] = len(immediate).to_bytes(3, "big")
        bhs[8:16] = self.lun
        struct.pack_into(">IIII", bhs, 16, itt, read_len or wlen, self.cmdsn, self.expstatsn)
        bhs[32:32 + len(cdb)] = cdb
        self.cmdsn = (self.cmdsn + 1) & 0xFFFFFFFF
        self.send(bhs, immediate)
        while True:
            rsp, data = self.recv_pdu()
            op = rsp[0] & 0x3F
            if op == OP_DATA_IN:
                if rsp[1] & 0x01:  # S bit: status collapsed into the last Data-In (RFC 7143 §11.7.1)
                    self.note_statsn(rsp)
                    return rsp[3], data
            elif op == OP_SCSI_RSP:
                self.note_statsn(rsp)
                return rsp[3], data
            elif op == OP_R2T:
                ttt, _, _, _, _, offset, length = struct.unpack_from(">IIIIIII", rsp, 20)
                self.send_data_out(itt, ttt, write_data, offset, length)
            elif op == OP_NOP_IN:
                ttt = struct.unpack_from(">I", rsp, 20)[0]
                if ttt != RESERVED_TAG:  # a ping that wants an answer (RFC 7143 §11.19)
                    out = bytearray(48)
                    out[0] = 0x40 | OP_NOP_OUT
                    out[1] = 0x80
                    out[8:16] = self.lun
                    struct.pack_into(">IIII", out, 16, RESERVED_TAG, ttt, self.cmdsn, self.expstatsn)
                    self.send(out)
            elif op == OP_REJECT:
                raise RuntimeError("target rejected a PDU")
            else:
                raise RuntimeError(f"unexpected opcode {op:#x}")

    def send_data_out(self, itt, ttt, data, offset, length):
        chunk = 8192
        sent, datasn = 0, 0
        while sent < length:
            n = min(chunk, length - sent)
            bhs = bytearray(48)
            bhs[0] = OP_DATA_OUT
            bhs[1] = 0x80 if sent + n == length else 0
            bhs[5:8] = n.to_bytes(3, "big")
            bhs[8:16] = self.lun
            struct.pack_into(">IIxxxxI", bhs, 16, itt, ttt, self.expstatsn)
            struct.pack_into(">II", bhs, 36, datasn, offset + sent)
            self.send(bhs, data[offset + sent:offset + sent + n])
            sent += n
            datasn += 1

    def ready(self):
        # SAM-5 §5.14: the first command of a new I_T nexus may meet a unit attention; TUR clears it.
        for _ in range(5):
            status, _ = self.command(bytes(6))
            if status == 0:
                return
        raise RuntimeError("TEST UNIT READY keeps failing")

    def capacity(self):
        cdb = bytes([0x9E, 0x10]) + bytes(8) + (32).to_bytes(4, "big") + bytes(2)
        status, data = self.command(cdb, read_len=32)
        if status != 0:
            raise RuntimeError("READ CAPACITY(16) failed")
        last_lba, block_len = struct.unpack_from(">QI", data, 0)
        return (last_lba + 1) * block_len, block_len


def rw16(opcode, lba, blocks):
    return struct.pack(">BBQIBB", opcode, 0, lba, blocks, 0, 0)


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def summarize(samples_ns):
    v = sorted(x / 1000.0 for x in samples_ns)
    return {
        "n": len(v),
        "mean": round(sum(v) / len(v), 1),
        "p50": round(percentile(v, 50), 1),
        "p90": round(percentile(v, 90), 1),
        "p99": round(percentile(v, 99), 1),
        "p999": round(percentile(v, 99.9), 1),
        "max": round(v[-1], 1),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("target")
    ap.add_argument("lun", type=int)
    ap.add_argument("--count", type=int, default=5000, help="timed commands per direction")
    ap.add_argument("--warmup", type=int, default=500, help="untimed commands per direction first")
    ap.add_argument("--span", type=int, default=0, help="limit offsets to the first BYTES of the LUN")
    ap.add_argument("--seed", type=int, default=4)
    a = ap.parse_args()

    ini = Initiator(a.host, a.port, a.target, a.lun)
    ini.login()
    ini.ready()
    size, block_len = ini.capacity()
    span = min(size, a.span) if a.span else size
    slots = span // BLOCK
    per = BLOCK // block_len
    rng = random.Random(a.seed)
    payload = os.urandom(BLOCK)
    out = {}
    for name, opcode in (("read", 0x88), ("write", 0x8A)):
        samples = []
        for i in range(a.warmup + a.count):
            lba = rng.randrange(slots) * per
            cdb = rw16(opcode, lba, per)
            t0 = time.perf_counter_ns()
            if opcode == 0x88:
                status, _ = ini.command(cdb, read_len=BLOCK)
            else:
                status, _ = ini.command(cdb, write_data=payload)
            t1 = time.perf_counter_ns()
            if status != 0:
                raise RuntimeError(f"{name} at LBA {lba} ended with status {status:#x}")
            if i >= a.warmup:
                samples.append(t1 - t0)
        out[name] = summarize(samples)
    ini.logout()
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one line for the calling script, not a traceback
        print(json.dumps({"error": str(e)}))
        sys.exit(1)
