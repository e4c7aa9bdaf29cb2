#!/bin/bash
# Spindle benchmark (GitHub issue 4): one command, rerunnable. Installs the tools it needs, builds
# the server jar if it is missing, then runs ops/bench/bench.py with the arguments given.
#   ops/bench/run.sh                      comparison with tgt, defaults (< 10 minutes)
#   ops/bench/run.sh --rounds 7 --scale 3 longer, steadier comparison
#   ops/bench/run.sh --soak 600           32 sessions at QD 8 for 10 minutes, leak detection on
#   ops/bench/run.sh --profile 60         JFR profile of Spindle under 4 KiB QD32
#   ops/bench/run.sh --help               every option
# Needs root (tgtd). Uses 127.0.0.1:3261 (Spindle) and 127.0.0.1:3262 (tgt) by default.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

missing=()
command -v tgtd >/dev/null || missing+=(tgt)
command -v qemu-img >/dev/null || missing+=(qemu-utils)
# qemu-img speaks iscsi:// only through the block-iscsi module of qemu-block-extra.
ls /usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so /usr/lib/*/qemu/block-iscsi.so >/dev/null 2>&1 || missing+=(qemu-block-extra)
command -v iscsi-ls >/dev/null || missing+=(libiscsi-bin)
# --luns ...,rbd: tgt's rbd backing store and fio's rbd engine (dev-cluster.sh installs Ceph itself).
if [[ " $* " == *rbd* ]]; then
  [ -e /usr/lib/tgt/backing-store/bs_rbd.so ] || missing+=(tgt-rbd)
  command -v fio >/dev/null || missing+=(fio)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "[bench] installing ${missing[*]}" >&2
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
fi

if [ ! -f server/target/spindle.jar ]; then
  echo "[bench] building server/target/spindle.jar" >&2
  mvn -q -DskipTests package >&2
fi

exec python3 "$root/ops/bench/bench.py" "$@"
