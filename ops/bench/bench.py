#!/usr/bin/env python3
"""Spindle against Linux tgt on loopback: throughput, CPU per I/O, QD1 latency, memory; soak; profile.

Run through ops/bench/run.sh, which installs the tools and builds the jar first. Modes:
  (default)        the comparison benchmark (GitHub issue 4), markdown to stdout and results-<date>.md
  --soak SECONDS   32 concurrent sessions at QD 8 against Spindle only, with Netty leak detection
  --profile SECONDS  JFR recording of Spindle under 4 KiB QD32 reads and writes (or --workloads), summarized
See ops/bench/README.md for what every number means.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
JAR = os.path.join(ROOT, "server", "target", "spindle.jar")
DEFAULT_JAR = JAR
HZ = os.sysconf("SC_CLK_TCK")
SPINDLE_IQN = "iqn.2026-11.io.spindle:bench"
TGT_IQN = "iqn.2026-11.io.spindle:tgt-bench"
# RBD LUNs (--luns ...,rbd): one image per target in the pool of the test Ceph (ops/ceph/dev-cluster.sh).
RBD_IMAGES = {"Spindle": "spindle-bench-spindle", "tgt": "spindle-bench-tgt", "fio": "spindle-bench-fio"}
STRIDE = "1052672"  # 1 MiB + 4 KiB: successive 4 KiB I/Os land far apart, as in /work/shared/tools/bench.sh

# name, qemu-img bench arguments (without -c), default count, bytes per I/O, unit
WORKLOADS = [
    ("4k-randread-qd1", ["-d", "1", "-s", "4096", "-S", STRIDE], 20000, 4096, "IOPS"),
    ("4k-randwrite-qd1", ["-w", "-d", "1", "-s", "4096", "-S", STRIDE], 20000, 4096, "IOPS"),
    ("4k-randread-qd32", ["-d", "32", "-s", "4096", "-S", STRIDE], 100000, 4096, "IOPS"),
    ("4k-randwrite-qd32", ["-w", "-d", "32", "-s", "4096", "-S", STRIDE], 100000, 4096, "IOPS"),
    ("256k-seqread-qd8", ["-d", "8", "-s", "262144"], 4000, 262144, "MB/s"),
    ("256k-seqwrite-qd8", ["-w", "-d", "8", "-s", "262144"], 4000, 262144, "MB/s"),
]

children = []  # processes this script started; ended by pid at exit
cleanups = []  # further clean-up actions (tgtd's control socket files), run at exit


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def parse_size(s):
    m = re.fullmatch(r"(\d+)([KMGT]?)", s.strip().upper())
    if not m:
        raise SystemExit(f"bad size {s!r}: use bytes or a K/M/G/T suffix")
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[m.group(2)]


# --- /proc ---------------------------------------------------------------------------------------
def cpu_seconds(pid):
    """utime+stime of the whole process (all threads), in seconds (proc(5): fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def memory_kib(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    return out


def wait_port(port, proc, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def port_free(port):
    with socket.socket() as s:
        # Like the servers, ignore connections of the previous run still in TIME_WAIT.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


stopped_by_us = set()  # pids this script asked to stop


def stop(proc, seconds=15):
    if proc is None or proc.poll() is not None:
        return
    stopped_by_us.add(proc.pid)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


# --- servers -------------------------------------------------------------------------------------
class Spindle:
    name = "Spindle"

    def __init__(self, a, jvm_opts=()):
        self.a, self.port, self.jvm_opts = a, a.spindle_port, list(jvm_opts)
        self.config = os.path.join(a.dir, "spindle.json")
        self.logfile = os.path.join(a.dir, "spindle.log")
        self.proc = None

    def start(self):
        if not port_free(self.port):
            raise SystemExit(f"port {self.port} is in use; choose another with --spindle-port")
        cfg = {
            "portals": [{"address": f"127.0.0.1:{self.port}", "transport": "tcp", "portalGroupTag": 1}],
            "targets": [{"name": SPINDLE_IQN, "acl": "any", "luns": [
                {"lun": 0, "backing": "file", "path": os.path.join(self.a.dir, "spindle-lun0.img"),
                 "size": str(self.a.size), "resize": True},  # a file from a run with another --size
                {"lun": 1, "backing": "null", "size": "1T"},  # tgt's null backing store is 1 TiB too
            ]}],
            # File LUNs only under allowed directories (README "Backing files"); the work directory here.
            "storage": {"allowedDirectories": [self.a.dir]},
        }
        if "rbd" in self.a.luns.split(","):
            cfg["targets"][0]["luns"].append({"lun": 2, "backing": "rbd", "pool": "rbd",
                                              "image": RBD_IMAGES["Spindle"], "cephConf": self.a.ceph_conf,
                                              "keyring": ceph_keyring(self.a)})
        with open(self.config, "w") as f:
            json.dump(cfg, f, indent=2)
        cmd = ["java", *self.jvm_opts, *self.a.java_opts.split(), "-jar", JAR, "--config", self.config]
        log("starting " + " ".join(cmd))
        out = open(self.logfile, "w")
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=self.a.dir)
        children.append(self.proc)
        if not wait_port(self.port, self.proc):
            raise SystemExit(f"Spindle did not start; see {self.logfile}")
        return self

    @property
    def pid(self):
        return self.proc.pid

    def url(self, lun):
        return f"iscsi://127.0.0.1:{self.port}/{SPINDLE_IQN}/{ {'file': 0, 'null': 1, 'rbd': 2}[lun] }"

    def latency_target(self, lun):
        return ("127.0.0.1", self.port, SPINDLE_IQN, {"file": 0, "null": 1, "rbd": 2}[lun])

    def stop(self):
        stop(self.proc)


class Tgt:
    name = "tgt"

    def __init__(self, a):
        self.a, self.port, self.control = a, a.tgt_port, a.tgt_control_port
        self.logfile = os.path.join(a.dir, "tgtd.log")
        self.proc = None

    def tgtadm(self, *args, must=True):
        cmd = ["tgtadm", "-C", str(self.control), "--lld", "iscsi", *args]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        if must and r.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {r.stdout}{r.stderr}")
        return r.returncode == 0

    def start(self):
        if not port_free(self.port):
            raise SystemExit(f"port {self.port} is in use; choose another with --tgt-port")
        if os.path.exists(f"/var/run/tgtd/socket.{self.control}"):
            raise SystemExit(f"/var/run/tgtd/socket.{self.control} exists: another tgtd uses control port "
                             f"{self.control}; choose another with --tgt-control-port")
        cmd = ["tgtd", "-f", "-C", str(self.control), "--iscsi", f"portal=127.0.0.1:{self.port}"]
        log("starting " + " ".join(cmd))
        self.proc = subprocess.Popen(cmd, stdout=open(self.logfile, "w"), stderr=subprocess.STDOUT)
        children.append(self.proc)
        cleanups.append(self.stop)
        # tgtd opens its control socket shortly after it starts: retry the first command, bounded.
        for _ in range(50):
            if self.tgtadm("--op", "new", "--mode", "target", "--tid", "1", "-T", TGT_IQN, must=False):
                break
            time.sleep(0.1)
        else:
            raise SystemExit(f"tgtd did not accept the target; see {self.logfile}")
        self.tgtadm("--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", "1",
                    "--backing-store", os.path.join(self.a.dir, "tgt-lun1.img"))
        self.tgtadm("--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", "2",
                    "--bstype", "null", "--backing-store", "/dev/null")
        if "rbd" in self.a.luns.split(","):
            # tgt's rbd backing store (Debian tgt-rbd): librbd, one thread per I/O from its pool.
            self.tgtadm("--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", "3", "--bstype", "rbd",
                        "--backing-store", "rbd/" + RBD_IMAGES["tgt"],
                        "--bsopts", f"conf={self.a.ceph_conf};id=admin")
        self.tgtadm("--op", "bind", "--mode", "target", "--tid", "1", "--initiator-address", "ALL")
        # Give tgt the negotiation limits Spindle offers by default (README "negotiation"), so both
        # servers negotiate the same PDU and burst sizes with the same initiator.
        for k, v in (("MaxRecvDataSegmentLength", "262144"), ("MaxXmitDataSegmentLength", "262144"),
                     ("MaxBurstLength", "1048576"), ("FirstBurstLength", "65536")):
            self.tgtadm("--op", "update", "--mode", "target", "--tid", "1", "-n", k, "-v", v)
        if not wait_port(self.port, self.proc):
            raise SystemExit(f"tgtd is not listening; see {self.logfile}")
        return self

    @property
    def pid(self):
        return self.proc.pid

    def url(self, lun):
        return f"iscsi://127.0.0.1:{self.port}/{TGT_IQN}/{ {'file': 1, 'null': 2, 'rbd': 3}[lun] }"

    def latency_target(self, lun):
        return ("127.0.0.1", self.port, TGT_IQN, {"file": 1, "null": 2, "rbd": 3}[lun])

    def stop(self):
        # tgtd does not exit on SIGTERM while it has targets; after a short grace period it is killed.
        stop(self.proc, 3)
        for suffix in ("", ".lock"):
            try:
                os.remove(f"/var/run/tgtd/socket.{self.control}{suffix}")
            except FileNotFoundError:
                pass


# --- clients -------------------------------------------------------------------------------------
QEMU_TIMEOUT = 180  # seconds; --timeout. libiscsi retries a lost connection forever, so a dead server hangs it.


def qemu_bench(url, args, count, timeout=None):
    """Runs one qemu-img bench; returns (seconds of I/O as qemu-img reports it, error or None,
    qemu-img's own CPU seconds, user + system, from wait4)."""
    cmd = ["qemu-img", "bench", "-f", "raw", "-c", str(count), *args, url]
    limit = timeout or QEMU_TIMEOUT
    t0 = time.monotonic()
    timed_out = threading.Event()
    with tempfile.TemporaryFile(mode="w+") as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True)
        killer = threading.Timer(limit, lambda: (timed_out.set(), p.kill()))
        killer.start()
        try:
            _, status, usage = os.wait4(p.pid, 0)
        finally:
            killer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    wall = time.monotonic() - t0
    client_cpu = usage.ru_utime + usage.ru_stime
    if timed_out.is_set():
        return None, f"no answer within {limit} s", client_cpu
    if p.returncode != 0:
        return None, (text.strip() or f"exit {p.returncode}").splitlines()[-1], client_cpu
    m = re.search(r"Run completed in ([0-9.]+) seconds", text)
    return (float(m.group(1)) if m else wall), None, client_cpu


def qd1_latency(server, lun, count, warmup):
    host, port, iqn, n = server.latency_target(lun)
    cmd = [sys.executable, os.path.join(HERE, "qd1lat.py"), host, str(port), iqn, str(n),
           "--count", str(count), "--warmup", str(warmup)]
    if lun == "null":
        cmd += ["--span", str(1 << 30)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=QEMU_TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"error": f"no answer within {QEMU_TIMEOUT} s"}
    try:
        out = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        out = {"error": (r.stderr or r.stdout).strip()[-300:]}
    return out


def machine():
    def sh(cmd):
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
        except subprocess.TimeoutExpired:
            return "?"
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    return {
        "nproc": str(os.cpu_count()),
        "CPU": cpu,
        "RAM": mem,
        "kernel": platform.release(),
        "JDK": sh("java -version 2>&1 | head -2 | tail -1"),
        "tgt": sh("dpkg-query -W -f '${Version}' tgt"),
        "qemu-img": sh("qemu-img --version | head -1"),
        "libiscsi": sh("dpkg-query -W -f '${Version}' libiscsi7"),
        "Spindle": (f"jar {JAR} (worktree at " if JAR != DEFAULT_JAR else "")
        + sh(f"cd {ROOT} && git rev-parse --short HEAD") + " (" + sh(f"cd {ROOT} && git branch --show-current") + ")"
        + (")" if JAR != DEFAULT_JAR else ""),
    }


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def fmt(v, digits=0):
    if v is None:
        return "ERR"
    return f"{v:,.{digits}f}"


def med(values):
    return statistics.median(values) if values else None


def pct(share):
    """A share of one core (1.0 = 100 %) as a percentage string, or None."""
    return None if share is None else f"{share * 100:.0f} %"


class ServerDied(Exception):
    def __init__(self, dead, errs):
        super().__init__(", ".join(f"{d.name} (pid {d.pid}) exited with {d.proc.returncode}" for d in dead))
        self.errs = errs


def keep_logs(servers, stamp):
    keep = os.path.join(HERE, "out")
    os.makedirs(keep, exist_ok=True)
    for srv in servers:
        if os.path.exists(srv.logfile):
            shutil.copy(srv.logfile, os.path.join(keep, f"{stamp}-{os.path.basename(srv.logfile)}"))
    return keep


# --- benchmark -----------------------------------------------------------------------------------
def ceph_keyring(a):
    return os.path.join(os.path.dirname(a.ceph_conf), "ceph.client.admin.keyring")


def prepare_rbd(a):
    """Starts the test Ceph, then gives each server (and fio) its own image of --rbd-size, fully
    written once, so reads hit stored objects, not holes."""
    script = os.path.join(HERE, "..", "ceph", "dev-cluster.sh")
    subprocess.run([script, "start"], check=True, stdout=subprocess.DEVNULL)
    for image in RBD_IMAGES.values():
        rbd = ["rbd", "-c", a.ceph_conf]
        subprocess.run(rbd + ["rm", "--no-progress", "rbd/" + image], capture_output=True)
        subprocess.run(rbd + ["create", "--size", a.rbd_size, "rbd/" + image], check=True)
        subprocess.run(rbd + ["bench", "--io-type", "write", "--io-pattern", "seq", "--io-size",
                              "4M", "--io-total", a.rbd_size, "rbd/" + image], check=True, capture_output=True)
    log(f"rbd images {', '.join(RBD_IMAGES.values())} of {a.rbd_size} written")


FIO_RW = {"4k-randread-qd1": ("randread", "4k", 1), "4k-randwrite-qd1": ("randwrite", "4k", 1),
          "4k-randread-qd32": ("randread", "4k", 32), "4k-randwrite-qd32": ("randwrite", "4k", 32),
          "256k-seqread-qd8": ("read", "256k", 8), "256k-seqwrite-qd8": ("write", "256k", 8)}


def fio_rbd(a, name, seconds):
    """fio's rbd engine straight to librbd: the ceiling for any iSCSI gateway on this Ceph."""
    rw, bs, qd = FIO_RW[name]
    cmd = ["fio", "--name=ceiling", "--ioengine=rbd", "--clientname=admin", "--pool=rbd",
           "--rbdname=" + RBD_IMAGES["fio"], f"--rw={rw}", f"--bs={bs}", f"--iodepth={qd}", "--numjobs=1",
           "--time_based", f"--runtime={seconds}", "--output-format=json"]
    env = dict(os.environ, CEPH_CONF=a.ceph_conf)
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=seconds + 60)
    if r.returncode != 0:
        return None
    job = json.loads(r.stdout[r.stdout.index("{"):])["jobs"][0]
    side = job["read"] if "read" in rw else job["write"]
    return side["iops"] if bs == "4k" else side["bw_bytes"] / 1e6


def prepare_files(a):
    """Both file LUNs get identical, fully allocated contents, so neither reads holes."""
    for name in ("spindle-lun0.img", "tgt-lun1.img"):
        path = os.path.join(a.dir, name)
        with open(path, "wb") as f:
            chunk = b"\xa5" * (1 << 20)
            for _ in range(a.size >> 20):
                f.write(chunk)


def benchmark(a):
    prepare_files(a)
    luns = [l for l in ("file", "null", "rbd") if l in a.luns.split(",")]
    if "rbd" in luns:
        prepare_rbd(a)
    servers = [Spindle(a).start(), Tgt(a).start()]
    mem_idle = {s.name: memory_kib(s.pid) for s in servers}
    load0 = loadavg()
    t_start = time.monotonic()

    log("warm-up (untimed): every workload once, short, on every server and LUN")
    for s in servers:
        for lun in luns:
            for name, args, count, _, _ in WORKLOADS:
                qemu_bench(s.url(lun), args, max(1000, count // 10))

    try:
        return measure(a, servers, luns, mem_idle, load0, t_start)
    except ServerDied as e:
        keep = keep_logs(servers, time.strftime("%Y%m%d-%H%M"))
        for err in e.errs:
            log(err)
        log(f"ABORTED: {e}; server logs in {keep}")
        for srv in servers:
            if os.path.exists(srv.logfile):
                with open(srv.logfile) as f:
                    tail = f.read().splitlines()[-15:]
                log(f"last lines of {srv.name}'s log:\n" + "\n".join(tail))
        return 2


def measure(a, servers, luns, mem_idle, load0, t_start):
    res = {}   # (workload, lun, server) -> list of value
    cpu = {}   # same key -> list of CPU us per I/O
    client = {}  # same key -> list of (qemu-img CPU us per I/O, its share of one core)
    errs = []
    lat = {}   # (lun, server) -> list of qd1lat dicts
    for r in range(a.rounds):
        order = servers if r % 2 == 0 else servers[::-1]  # alternate who goes first each round
        log(f"round {r + 1}/{a.rounds} (first: {order[0].name})")
        for name, args, count, size, unit in WORKLOADS:
            count = max(100, int(count * a.scale))
            for lun in luns:
                for s in order:
                    c0 = cpu_seconds(s.pid)
                    secs, err, client_cpu = qemu_bench(s.url(lun), args, count)
                    key = (name, lun, s.name)
                    if err:
                        errs.append(f"round {r + 1} {name} {lun} {s.name}: {err}")
                        dead = [x for x in servers if x.proc.poll() is not None]
                        if dead:
                            raise ServerDied(dead, errs)
                        continue
                    c1 = cpu_seconds(s.pid)
                    v = count / secs if unit == "IOPS" else count * size / secs / 1e6
                    res.setdefault(key, []).append(v)
                    cpu.setdefault(key, []).append((c1 - c0) / count * 1e6)
                    client.setdefault(key, []).append((client_cpu / count * 1e6, client_cpu / secs))
        if not a.no_latency:
            for lun in luns:
                for s in order:
                    out = qd1_latency(s, lun, max(200, int(a.lat_count * a.scale)), max(50, a.lat_count // 10))
                    if "error" in out:
                        errs.append(f"round {r + 1} qd1lat {lun} {s.name}: {out['error']}")
                        dead = [x for x in servers if x.proc.poll() is not None]
                        if dead:
                            raise ServerDied(dead, errs)
                    else:
                        lat.setdefault((lun, s.name), []).append(out)
    mem_end = {s.name: memory_kib(s.pid) for s in servers}
    elapsed = time.monotonic() - t_start
    load1 = loadavg()
    for s in servers:
        s.stop()
    now = datetime.datetime.now()
    keep_logs(servers, f"{now:%Y%m%d-%H%M}")

    # --- report ---
    m = machine()
    lines = [f"# Spindle vs tgt — {now:%Y-%m-%d %H:%M}", ""]
    lines += ["| machine | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in m.items()]
    lines += [f"| load average | {load0} at start, {load1} at end |",
              f"| run | {a.rounds} rounds, scale {a.scale}, LUN size {a.size >> 20} MiB in {a.dir}, "
              f"{elapsed:.0f} s |", ""]
    lines += ["## Throughput (median of rounds) and server CPU per I/O", "",
              "| workload | LUN | Spindle | tgt | Spindle/tgt | Spindle CPU µs/IO | tgt CPU µs/IO | "
              "Spindle/tgt CPU | rounds (Spindle; tgt) |",
              "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for name, _, _, _, unit in WORKLOADS:
        for lun in luns:
            sv, tv = res.get((name, lun, "Spindle")), res.get((name, lun, "tgt"))
            sc, tc = cpu.get((name, lun, "Spindle")), cpu.get((name, lun, "tgt"))
            ratio = med(sv) / med(tv) if sv and tv else None
            cratio = med(sc) / med(tc) if sc and tc and med(tc) > 0 else None
            runs = "; ".join(" ".join(f"{x:.0f}" for x in (v or [])) for v in (sv, tv))
            lines.append(f"| {name} ({unit}) | {lun} | {fmt(med(sv))} | {fmt(med(tv))} | {fmt(ratio, 2)} | "
                         f"{fmt(med(sc), 1)} | {fmt(med(tc), 1)} | {fmt(cratio, 2)} | {runs} |")
    lines += ["", "## The client: qemu-img's own CPU per I/O and its share of one core (median of rounds)", "",
              "A share near 100 % means qemu-img itself was the limit of that run, whatever the server.", "",
              "| workload | LUN | qemu-img CPU µs/IO against Spindle | against tgt | "
              "qemu-img busy against Spindle | against tgt |", "|---|---|---:|---:|---:|---:|"]
    for name, _, _, _, unit in WORKLOADS:
        for lun in luns:
            cs, ct = client.get((name, lun, "Spindle"), []), client.get((name, lun, "tgt"), [])
            lines.append(f"| {name} | {lun} | {fmt(med([x[0] for x in cs]), 1)} | {fmt(med([x[0] for x in ct]), 1)} | "
                         f"{pct(med([x[1] for x in cs])) or 'ERR'} | {pct(med([x[1] for x in ct])) or 'ERR'} |")
    if not a.no_latency:
        lines += ["", "## QD1 latency, 4 KiB random, µs (qd1lat.py; median over rounds of each percentile)", "",
                  "| LUN | op | Spindle p50 | tgt p50 | Spindle p99 | tgt p99 | Spindle p99.9 | tgt p99.9 | "
                  "Spindle mean | tgt mean |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for lun in luns:
            for op in ("read", "write"):
                def pick(server, p):
                    vals = [x[op][p] for x in lat.get((lun, server), [])]
                    return med(vals)
                lines.append(f"| {lun} | {op} | " + " | ".join(
                    fmt(pick(s, p), 1) for p in ("p50", "p99", "p999", "mean") for s in ("Spindle", "tgt")) + " |")
    lines += ["", "## Resident memory (KiB, /proc/PID/status)", "",
              "| server | VmRSS after start | VmRSS at end | VmHWM at end |", "|---|---:|---:|---:|"]
    for s in ("Spindle", "tgt"):
        lines.append(f"| {s} | {fmt(mem_idle[s].get('VmRSS'))} | {fmt(mem_end[s].get('VmRSS'))} | "
                     f"{fmt(mem_end[s].get('VmHWM'))} |")
    lines += ["", "## Errors", ""] + ([f"- {e}" for e in errs] or ["none"])
    lines += ["", f"Command: `ops/bench/run.sh {' '.join(a.argv)}`".replace("  ", " "), ""]
    if "rbd" in luns and shutil.which("fio"):
        lines += ["", "**RBD ceiling**: fio's rbd engine straight to librbd (no iSCSI), 10 s per workload, "
                  "against the Spindle-rbd median of the table above.", "",
                  "| workload | fio-rbd | Spindle-rbd | Spindle / fio |", "|---|---|---|---|"]
        for name, _, _, _, unit in WORKLOADS:
            ceiling = fio_rbd(a, name, 10)
            sv = med(res.get((name, "rbd", "Spindle")) or [])
            ratio = sv / ceiling if sv and ceiling else None
            lines.append(f"| {name} ({unit}) | {fmt(ceiling)} | {fmt(sv)} | {fmt(ratio, 2)} |")
    text = "\n".join(lines)
    print(text)
    path = os.path.join(a.out, f"results-{now:%Y%m%d-%H%M}.md")
    with open(path, "w") as f:
        f.write(text)
    log(f"wrote {path}")
    return 1 if errs else 0


# --- soak ----------------------------------------------------------------------------------------
def soak(a):
    prepare_files(a)
    s = Spindle(a, ["-Dio.netty.leakDetection.level=advanced"]).start()
    deadline = time.monotonic() + a.soak
    stats = {"runs": 0, "ios": 0, "errors": []}
    lock = threading.Lock()
    count = max(200, int(4000 * a.scale))

    def worker(i):
        lun = "file" if i % 2 == 0 else "null"
        write = (i // 2) % 2 == 1
        args = (["-w"] if write else []) + ["-d", str(a.soak_qd), "-s", "4096", "-S", STRIDE,
                                            "-o", str((i * 7919 * 4096) % (64 << 20))]
        while time.monotonic() < deadline:
            secs, err, _ = qemu_bench(s.url(lun), args, count, timeout=max(120, a.soak * 2))
            with lock:
                if err:
                    stats["errors"].append(f"session {i} ({lun}, {'write' if write else 'read'}): {err}")
                else:
                    stats["runs"] += 1
                    stats["ios"] += count

    samples = []
    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(a.soak_sessions)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        if s.proc.poll() is not None:
            stats["errors"].append(f"Spindle exited with {s.proc.returncode}")
            break
        samples.append((time.monotonic() - t0, memory_kib(s.pid).get("VmRSS"), cpu_seconds(s.pid)))
        time.sleep(a.soak_interval)
    for t in threads:
        t.join(timeout=max(180, a.soak * 2))
    elapsed = time.monotonic() - t0
    if s.proc.poll() is None:
        # Netty reports a leak when the leaked buffer has been garbage collected and a later
        # allocation is tracked: collect, then do a little more I/O before stopping.
        subprocess.run(["jcmd", str(s.pid), "GC.run"], capture_output=True, timeout=60)
        time.sleep(1)
        qemu_bench(s.url("file"), ["-d", "8", "-s", "4096", "-S", STRIDE], 2000)
        time.sleep(1)
    mem_end = memory_kib(s.pid) if s.proc.poll() is None else {}
    s.stop()
    with open(s.logfile) as f:
        server_log = f.read()
    leaks = [ln for ln in server_log.splitlines() if "LEAK" in ln]
    errors_logged = [ln for ln in server_log.splitlines() if " ERROR " in ln or "Exception" in ln]

    now = datetime.datetime.now()
    rss = [x[1] for x in samples if x[1]]
    warm = [x[1] for x in samples if x[0] >= elapsed * 0.2 and x[1]]
    lines = [f"# Spindle soak — {now:%Y-%m-%d %H:%M}", "",
             f"{a.soak_sessions} concurrent qemu-img bench sessions at QD {a.soak_qd}, 4 KiB, half reads and half "
             f"writes, half on the file LUN and half on the null LUN, each session logging in again every "
             f"{count} I/Os, for {elapsed:.0f} s; Spindle with -Dio.netty.leakDetection.level=advanced.", "",
             "| | |", "|---|---|",
             f"| I/Os completed | {stats['ios']:,} in {stats['runs']} sessions ({stats['ios'] / elapsed:,.0f} IOPS) |",
             f"| client errors | {len(stats['errors'])} |",
             f"| Netty LEAK lines in the server log | {len(leaks)} |",
             f"| ERROR/exception lines in the server log | {len(errors_logged)} |",
             f"| VmRSS first / min / max / last sample (KiB) | {fmt(rss[0] if rss else None)} / "
             f"{fmt(min(rss) if rss else None)} / {fmt(max(rss) if rss else None)} / {fmt(rss[-1] if rss else None)} |",
             f"| VmRSS after the first 20 % of the run: min / max (KiB) | {fmt(min(warm) if warm else None)} / "
             f"{fmt(max(warm) if warm else None)} |",
             f"| VmHWM at end (KiB) | {fmt(mem_end.get('VmHWM'))} |", "",
             "VmRSS samples (seconds since start: KiB):", "", "```",
             "  ".join(f"{t:.0f}:{r}" for t, r, _ in samples), "```", "",
             f"Spindle used {samples[-1][2] - samples[0][2]:.0f} s of CPU over the run." if samples else "", ""]
    if stats["errors"]:
        lines += ["Client errors (first 20):", ""] + [f"- {e}" for e in stats["errors"][:20]] + [""]
    if leaks:
        lines += ["LEAK lines (first 10):", "", "```"] + leaks[:10] + ["```", ""]
    if errors_logged:
        lines += ["Server ERROR lines (first 10):", "", "```"] + errors_logged[:10] + ["```", ""]
    text = "\n".join(lines)
    print(text)
    path = os.path.join(a.out, f"soak-{now:%Y%m%d-%H%M}.md")
    with open(path, "w") as f:
        f.write(text)
    keep = os.path.join(HERE, "out")
    os.makedirs(keep, exist_ok=True)
    shutil.copy(s.logfile, os.path.join(keep, f"soak-{now:%Y%m%d-%H%M}-spindle.log"))
    log(f"wrote {path}; server log kept in {keep} (git-ignored)")
    return 1 if stats["errors"] or leaks else 0


# --- profile -------------------------------------------------------------------------------------
def jfc_file(a):
    """JDK's profile.jfc with Java method sampling every 1 ms instead of 10 ms (more samples, same events)."""
    java_home = os.path.dirname(os.path.dirname(os.path.realpath(shutil.which("java"))))
    with open(os.path.join(java_home, "lib", "jfr", "profile.jfc")) as f:
        text = f.read()
    text = re.sub(r'(control="method-sampling-java-interval">)[^<]*<', r"\g<1>1 ms<", text)
    path = os.path.join(a.dir, "bench.jfc")
    with open(path, "w") as f:
        f.write(text)
    return path


PERF_EVENTS = ["raw_syscalls:sys_enter", "context-switches", "syscalls:sys_enter_futex",
               "syscalls:sys_enter_writev", "syscalls:sys_enter_sendto", "syscalls:sys_enter_write",
               "syscalls:sys_enter_recvfrom", "syscalls:sys_enter_read", "syscalls:sys_enter_epoll_wait",
               "syscalls:sys_enter_pread64", "syscalls:sys_enter_pwrite64"]


def utime_stime(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / HZ, int(fields[12]) / HZ


def perf_counts(server, url, args, count):
    """Per-I/O kernel view of one run: syscalls by kind and context switches (perf stat), user/system CPU."""
    u0, s0 = utime_stime(server.pid)
    cmd = ["perf", "stat", "-x", ",", "-e", ",".join(PERF_EVENTS), "-p", str(server.pid), "--",
           "qemu-img", "bench", "-f", "raw", "-c", str(count), *args, url]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    u1, s1 = utime_stime(server.pid)
    out = {"user µs": (u1 - u0) / count * 1e6, "system µs": (s1 - s0) / count * 1e6}
    for line in r.stderr.splitlines():
        f = line.split(",")
        if len(f) > 2 and f[0].replace(".", "").isdigit():
            name = f[2].replace("syscalls:sys_enter_", "").replace("raw_syscalls:sys_enter", "all syscalls")
            out[name] = int(float(f[0])) / count
    return out


def profile(a):
    prepare_files(a)
    s = Spindle(a).start()
    servers = [s]
    have_perf = shutil.which("perf") is not None
    if have_perf:
        servers.append(Tgt(a).start())  # reference for the syscall counts only
    jfr_file = os.path.join(a.dir, "spindle.jfr")
    # 4 KiB QD32 reads and writes, or the workloads --workloads names (e.g. the QD1 ones).
    profiled = WORKLOADS if a.workloads else [w for w in WORKLOADS if w[0].startswith("4k-") and w[0].endswith("-qd32")]
    loads = [(w, lun) for lun in ("null", "file") if lun in a.luns.split(",") for w in profiled]
    for w, lun in loads:  # warm the JIT before measuring
        qemu_bench(s.url(lun), w[1], 50000)
    kernel = {}
    if have_perf:
        log("perf stat: syscalls and context switches per I/O")
        for w, lun in loads:
            for srv in servers:
                kernel[(w[0], lun, srv.name)] = perf_counts(srv, srv.url(lun), w[1], int(100000 * a.scale))
    log(f"JFR recording for {a.profile:.0f} s")
    subprocess.run(["jcmd", str(s.pid), "JFR.start", "name=bench", f"settings={jfc_file(a)}",
                    f"filename={jfr_file}"], check=True, capture_output=True)
    per = a.profile / len(loads)
    done = {}
    for w, lun in loads:
        end = time.monotonic() + per
        n = 0
        while time.monotonic() < end:
            secs, err, _ = qemu_bench(s.url(lun), w[1], 50000)
            if err:
                log(f"profile load: {err}")
                if s.proc.poll() is not None:
                    raise SystemExit(f"Spindle exited with {s.proc.returncode} during the recording")
                break
            n += 50000
        done[(w[0], lun)] = n
    if s.proc.poll() is not None:
        raise SystemExit(f"Spindle exited with {s.proc.returncode} during the recording")
    subprocess.run(["jcmd", str(s.pid), "JFR.stop", "name=bench"], check=True, capture_output=True)
    for srv in servers:
        srv.stop()
    now = datetime.datetime.now()
    text = summarize_jfr(jfr_file, done, a, kernel)
    print(text)
    path = os.path.join(a.out, f"profile-{now:%Y%m%d-%H%M}.md")
    with open(path, "w") as f:
        f.write(text)
    keep = os.path.join(HERE, "out")
    os.makedirs(keep, exist_ok=True)
    shutil.copy(jfr_file, os.path.join(keep, f"spindle-{now:%Y%m%d-%H%M}.jfr"))
    log(f"wrote {path}; recording kept in {keep} (git-ignored)")
    return 0


def frame_name(fr, line=True):
    m = fr["method"]
    cls = m["type"]["name"].replace("/", ".")
    return f"{cls}.{m['name']}" + (f":{fr.get('lineNumber', '?')}" if line else "")


def synthetic(fr):
    """Lambda and method-handle glue: it names no source line, so attribution skips it."""
    cls = fr["method"]["type"]["name"]
    return "$$Lambda" in cls or cls.startswith("java/lang/invoke/") or cls.startswith("java.lang.invoke.")


def spindle_frame(frames):
    for fr in frames:
        cls = fr["method"]["type"]["name"].replace("/", ".")
        if cls.startswith("io.spindle.") and not synthetic(fr):
            return frame_name(fr)
    return None


def jfr_events(path, event):
    r = subprocess.run(["jfr", "print", "--json", "--stack-depth", "64", "--events", event, path],
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout)["recording"]["events"]


def summarize_jfr(path, done, a, kernel):
    def add(d, k, w=1):
        d[k] = d.get(k, 0) + w

    def top(d, n):
        return sorted(d.items(), key=lambda kv: -kv[1])[:n]

    samples = jfr_events(path, "jdk.ExecutionSample")
    self_top, spindle_top, thread_top, incl, callers = {}, {}, {}, {}, {}
    for e in samples:
        frames = e["values"]["stackTrace"]["frames"] if e["values"].get("stackTrace") else []
        if not frames:
            continue
        add(thread_top, re.sub(r"\d+", "N", e["values"]["sampledThread"]["javaName"] or "?"))
        leaf = frame_name(frames[0])
        add(self_top, leaf)
        chain = " ← ".join(frame_name(fr) for fr in frames[1:] if not synthetic(fr))
        add(callers.setdefault(leaf, {}), " ← ".join(chain.split(" ← ")[:5]))
        add(spindle_top, spindle_frame(frames) or "(no Spindle frame)")
        seen = set()
        for fr in frames:
            n = frame_name(fr, line=False)
            if n.startswith("io.spindle.") and not synthetic(fr) and n not in seen:
                seen.add(n)
                add(incl, n)
    total = sum(self_top.values()) or 1

    natives = jfr_events(path, "jdk.NativeMethodSample")
    native_top = {}
    for e in natives:
        frames = e["values"]["stackTrace"]["frames"] if e["values"].get("stackTrace") else []
        if frames:
            add(native_top, (re.sub(r"\d+", "N", e["values"]["sampledThread"]["javaName"] or "?"),
                             frame_name(frames[0], line=False)))
    ntotal = sum(native_top.values()) or 1

    allocs = jfr_events(path, "jdk.ObjectAllocationSample")
    # A thread's first sample weighs everything it allocated since it started (warm-up included):
    # hundreds of MB pinned on one arbitrary object. Drop it.
    allocs.sort(key=lambda e: e["values"]["startTime"])
    seen_threads = set()
    kept = []
    for e in allocs:
        t = (e["values"].get("eventThread") or {}).get("javaThreadId")
        if t in seen_threads:
            kept.append(e)
        seen_threads.add(t)
    allocs = kept
    by_class, by_site = {}, {}
    for e in allocs:
        v = e["values"]
        w = v.get("weight", 0)
        cls = v["objectClass"]["name"].replace("/", ".")
        add(by_class, cls, w)
        frames = v["stackTrace"]["frames"] if v.get("stackTrace") else []
        alloc_at = next((frame_name(fr) for fr in frames if not synthetic(fr)), "?")
        add(by_site, (cls, alloc_at, spindle_frame(frames) or "-"), w)
    atotal = sum(by_class.values()) or 1
    ios = sum(done.values())

    lines = [f"# Spindle profile — {datetime.datetime.now():%Y-%m-%d %H:%M}", "",
             f"JFR (JDK profile settings, Java sampling every 1 ms) of {path} during {a.profile:.0f} s of qemu-img bench "
             "4 KiB QD32 against Spindle: " + ", ".join(f"{w} on {lun}: {n:,} I/Os" for (w, lun), n in done.items())
             + f". {len(samples)} Java execution samples, {len(natives)} native samples, {len(allocs)} allocation "
             f"samples ({atotal / 1e9:.2f} GB sampled weight, about {atotal / max(ios, 1):,.0f} bytes allocated "
             "per I/O).", "",
             "JFR samples only threads running Java code; time in system calls shows up in the kernel table "
             "below and as `system µs`.", ""]
    if kernel:
        keys = ["user µs", "system µs", "all syscalls", "context-switches", "futex", "writev", "sendto", "write",
                "recvfrom", "read", "epoll_wait", "pread64", "pwrite64"]
        lines += ["## Per I/O, from the kernel (perf stat on the server process; CPU from /proc/PID/stat)", "",
                  "| workload | LUN | server | " + " | ".join(keys) + " |",
                  "|---|---|---|" + "---:|" * len(keys)]
        for (w, lun, srv), d in kernel.items():
            lines.append(f"| {w} | {lun} | {srv} | " + " | ".join(
                fmt(d.get(k), 2) if k in d else "-" for k in keys) + " |")
        lines.append("")
    lines += ["## Threads (share of Java execution samples)", "", "| thread | share |", "|---|---:|"]
    lines += [f"| {k} | {v / total:.1%} |" for k, v in top(thread_top, 8)]
    lines += ["", "## Hottest frames (self time) and their main caller chains", "",
              "| frame | share | top caller chains (lambda glue omitted) |", "|---|---:|---|"]
    for k, v in top(self_top, 20):
        chains = "<br>".join(f"{c / v:.0%}: `{ch}`" for ch, c in top(callers[k], 2))
        lines.append(f"| `{k}` | {v / total:.1%} | {chains} |")
    lines += ["", "## Nearest Spindle frame on the stack (Spindle code that leads into the cost)", "",
              "| frame | share |", "|---|---:|"]
    lines += [f"| `{k}` | {v / total:.1%} |" for k, v in top(spindle_top, 25)]
    lines += ["", "## Inclusive time of Spindle methods", "", "| method | share |", "|---|---:|"]
    lines += [f"| `{k}` | {v / total:.1%} |" for k, v in top(incl, 25)]
    lines += ["", "## Native samples (threads inside native code: waiting or in system calls)", "",
              "| thread | native frame | share |", "|---|---|---:|"]
    lines += [f"| {t} | `{f}` | {v / ntotal:.1%} |" for (t, f), v in top(native_top, 10)]
    lines += ["", "## Allocation by class (sampled weight)", "", "| class | share |", "|---|---:|"]
    lines += [f"| `{k}` | {v / atotal:.1%} |" for k, v in top(by_class, 15)]
    lines += ["", "## Allocation sites", "", "| class | allocated in | nearest Spindle frame | share |",
              "|---|---|---|---:|"]
    lines += [f"| `{c}` | `{at}` | `{sp}` | {v / atotal:.1%} |" for (c, at, sp), v in top(by_site, 30)]
    return "\n".join(lines) + "\n"


# --- main ----------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds per workload (default 5)")
    ap.add_argument("--scale", type=float, default=2.0, help="multiply every I/O count (default 2)")
    ap.add_argument("--size", default="1G", help="file LUN size, in the page cache (default 1G)")
    ap.add_argument("--dir", default="/dev/shm/spindle-bench", help="work directory; tmpfs keeps the LUN "
                    "files in the page cache (default /dev/shm/spindle-bench, removed afterwards)")
    ap.add_argument("--out", default=HERE, help="where results-*.md go (default ops/bench)")
    ap.add_argument("--spindle-port", type=int, default=3261)
    ap.add_argument("--tgt-port", type=int, default=3262)
    ap.add_argument("--tgt-control-port", type=int, default=3262, help="tgtd -C (below 32768)")
    ap.add_argument("--java-opts", default="",
                    help="extra JVM options for Spindle, one string; write it as --java-opts='-XX:+UseSerialGC ...' "
                         "(with '=', since the value starts with a dash)")
    ap.add_argument("--lat-count", type=int, default=3000, help="QD1 latency samples per op per round")
    ap.add_argument("--no-latency", action="store_true", help="skip the QD1 latency measurement")
    ap.add_argument("--soak", type=float, metavar="SECONDS", help="soak mode instead of the comparison")
    ap.add_argument("--soak-sessions", type=int, default=32)
    ap.add_argument("--soak-qd", type=int, default=8)
    ap.add_argument("--soak-interval", type=float, default=5.0, help="seconds between RSS samples")
    ap.add_argument("--profile", type=float, metavar="SECONDS", help="profile mode: JFR for this long")
    ap.add_argument("--timeout", type=float, default=180, help="seconds one qemu-img run may take (default 180)")
    ap.add_argument("--summarize", metavar="JFR", help="only summarize an existing recording (profile mode)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--workloads", help="comma-separated workload names to run (default: all), "
                    "e.g. 4k-randread-qd1,4k-randread-qd32")
    ap.add_argument("--luns", default="file,null", help="comma-separated LUNs to run: file, null, rbd "
                    "(default file,null; rbd starts ops/ceph/dev-cluster.sh, needs tgt-rbd and fio)")
    ap.add_argument("--ceph-conf", default="/tmp/spindle-ceph/ceph.conf", help="Ceph conf for the rbd LUNs")
    ap.add_argument("--rbd-size", default="256M", help="size of each rbd LUN's image (default 256M)")
    ap.add_argument("--jar", help="Spindle jar to run (default server/target/spindle.jar)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    global WORKLOADS, JAR
    if a.workloads:
        wanted = a.workloads.split(",")
        unknown = set(wanted) - {w[0] for w in WORKLOADS}
        if unknown:
            raise SystemExit(f"unknown workloads: {', '.join(sorted(unknown))}")
        WORKLOADS = [w for w in WORKLOADS if w[0] in wanted]
    if a.jar:
        JAR = os.path.abspath(a.jar)
    a.argv = sys.argv[1:]
    global QEMU_TIMEOUT
    QEMU_TIMEOUT = a.timeout
    a.size = parse_size(a.size)
    if a.size < (16 << 20) or a.size % (1 << 20):
        raise SystemExit("--size must be a whole number of MiB, at least 16M")
    if a.summarize:
        a.profile = 0
        print(summarize_jfr(a.summarize, {}, a, {}))
        return 0
    if not os.path.exists(JAR):
        raise SystemExit(f"{JAR} is missing: run ops/bench/run.sh, which builds it")
    for tool in ("qemu-img", "tgtd", "tgtadm", "java"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing: run ops/bench/run.sh, which installs it")
    if os.geteuid() != 0:
        raise SystemExit("tgtd needs root: run as root")
    if os.path.exists(a.dir) and os.listdir(a.dir):
        raise SystemExit(f"{a.dir} is not empty (another run, or a crashed one?): remove it or pass --dir")
    os.makedirs(a.dir, exist_ok=True)

    def on_signal(signum, _frame):
        raise SystemExit(f"stopped by signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        if a.soak:
            return soak(a)
        if a.profile:
            return profile(a)
        return benchmark(a)
    finally:
        died = [(p, p.returncode) for p in children if p.poll() is not None and p.pid not in stopped_by_us]
        for p, code in died:
            # An exit before we stopped it: a crash (hs_err file), a kill (negative signal number), or an exit.
            log(f"{' '.join(p.args[:3])}... (pid {p.pid}) had already exited with {code}")
        for p in children:
            stop(p, 5)
        if died:
            keep = os.path.join(HERE, "out", "died-" + time.strftime("%Y%m%d-%H%M%S"))
            os.makedirs(keep, exist_ok=True)
            for f in os.listdir(a.dir):
                if f.endswith(".log") or f.startswith("hs_err") or f.endswith(".json"):
                    shutil.copy(os.path.join(a.dir, f), keep)
            log(f"logs of that run kept in {keep}")
        for c in cleanups:
            c()
        if not a.keep:
            shutil.rmtree(a.dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
