#!/usr/bin/env bash
# Issue 16's bench rows, in one run: node 1 of a three-node cluster against the same node
# standalone (a fourth JVM in node 1's namespace, same config without "cluster", port 21261),
# interleaved round by round: 4 KiB QD32 IOPS and 4 KiB QD1 latency (the project initiator's bench
# command on an ERL 2 session: the sessions a cluster replicates; qemu-img and libiscsi log in at
# ERL 0) and the cluster's own traffic per command (bytes on node 1's TCP connections other than
# the iSCSI portals, from ss(8) socket counters). See README.md.
set -uo pipefail

usage() {
  cat <<'EOF'
usage: ops/cluster-test/bench.sh [--rounds 3] [--count 20000] [--lat-count 3000] [--netns auto|no] [--keep]
  --rounds     interleaved rounds (cluster, standalone, alternating who goes first); medians reported
  --count      commands per 4 KiB QD32 run (read, then write)
  --lat-count  commands per 4 KiB QD1 run (read, then write)
EOF
}

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=3 COUNT=20000 LAT_COUNT=3000 NETNS=auto KEEP=0 CLUSTER=1
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --count) COUNT=$2; shift 2 ;;
    --lat-count) LAT_COUNT=$2; shift 2 ;;
    --netns) NETNS=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --help|-h) usage; exit 0 ;;
    *) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

. "$ROOT/ops/cluster-test/lib.sh"

SPORT=21261
IP[s]=${IP[1]} NS[s]=1 NODE_PORT[s]=$SPORT
LUNDIR=$(mktemp -d /dev/shm/ci-bench.XXXXXX)
EXTRA_CLEANUP="rm -rf $LUNDIR"
# In the page cache, filled, as ops/bench does: the targets are measured, not the disk.
for f in cluster standalone; do dd if=/dev/zero of="$LUNDIR/$f.img" bs=1M count=256 status=none; done
for k in $NODES; do write_config "$k" "$LUNDIR/cluster.img" 1; done
write_config s "$LUNDIR/standalone.img" 0

for k in 1 2 3 s; do start_node "$k"; done
for k in 1 2 3 s; do
  wait_node "$k" 150 || { echo "node $k did not come up"; tail -20 "$WORK/node$k.log"; exit 1; }
done
all_ready 150 || { echo "the cluster did not form"; exit 1; }
say "cluster nodes 1-3 and standalone node s (${IP[s]}:$SPORT) up"

# Bytes sent + received on node 1's TCP connections that are not iSCSI: Hazelcast and the event bus.
cluster_bytes() {
  nsexec 1 ss -Htin state established "( not sport = :$PORT and not sport = :$SPORT )" 2>/dev/null |
    grep -oE 'bytes_(sent|received):[0-9]+' | awk -F: '{ s += $2 } END { printf "%d\n", s }'
}
url() { echo "iscsi://${IP[$1]}:${NODE_PORT[$1]}/$TARGET/0"; }
bench() { # bench NODE QD COUNT [--write]: the initiator's bench summary line, on an ERL 2 session
  ini bench "$(url "$1")" --erl 2 --queue-depth "$2" --size 4k --count "$3" --region 128m $4 2>/dev/null | grep '^ios='
}
field() { echo "$1" | sed -n "s/.* $2=\([0-9]*\).*/\1/p"; }

declare -a ROWS
measure() { # measure NODE ROUND
  local k=$1 name b0 b1 b2 b3 b4 r w lr lw
  name=$([ "$k" = s ] && echo standalone || echo cluster)
  b0=$(cluster_bytes); r=$(bench "$k" 32 "$COUNT" "")
  b1=$(cluster_bytes); w=$(bench "$k" 32 "$COUNT" --write)
  b2=$(cluster_bytes); lr=$(bench "$k" 1 "$LAT_COUNT" "")
  b3=$(cluster_bytes); lw=$(bench "$k" 1 "$LAT_COUNT" --write)
  b4=$(cluster_bytes)
  # Per command, including each run's login, READ CAPACITY and logout (a handful of PDUs).
  ROWS+=("$name $2 $(field "$r" iops) $(field "$w" iops) $(field "$lr" p50) $(field "$lr" p99) $(field "$lw" p50) $(field "$lw" p99) $(( (b1 - b0) / COUNT )) $(( (b2 - b1) / COUNT )) $(( (b4 - b2) / (2 * LAT_COUNT) ))")
  say "round $2 $name: QD32 read [$r] write [$w]; QD1 read [$lr] write [$lw]; cluster bytes $b0 $b1 $b2 $b3 $b4"
}

# Warm-up (JIT) on both, untimed.
for k in 1 s; do bench "$k" 32 "$COUNT" --write >/dev/null; bench "$k" 32 "$COUNT" "" >/dev/null; done
for ((i = 1; i <= ROUNDS; i++)); do
  if [ $((i % 2)) = 1 ]; then measure 1 "$i"; measure s "$i"; else measure s "$i"; measure 1 "$i"; fi
done

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
col() { printf '%s\n' "${ROWS[@]}" | awk -v n="$1" -v c="$2" '$1 == n { print $c }' | median; }
echo
echo "| node 1 | 4k QD32 read IOPS | 4k QD32 write IOPS | 4k QD1 read p50/p99 µs | 4k QD1 write p50/p99 µs | cluster bytes/cmd: QD32 read | QD32 write | QD1 |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for n in standalone cluster; do
  echo "| $n | $(col $n 3) | $(col $n 4) | $(col $n 5)/$(col $n 6) | $(col $n 7)/$(col $n 8) | $(col $n 9) | $(col $n 10) | $(col $n 11) |"
done
awk -v cr="$(col cluster 3)" -v sr="$(col standalone 3)" -v cw="$(col cluster 4)" -v sw="$(col standalone 4)" \
  -v cl="$(col cluster 5)" -v sl="$(col standalone 5)" -v cwl="$(col cluster 7)" -v swl="$(col standalone 7)" \
  'BEGIN { printf "cluster/standalone: QD32 read %.2fx, QD32 write %.2fx IOPS; QD1 p50 read %.2fx, write %.2fx latency\n", cr / sr, cw / sw, cl / sl, cwl / swl }'
echo "medians of $ROUNDS rounds; every round:"
printf '  %s\n' "${ROWS[@]}"
echo "(node round QD32-read QD32-write QD1-read-p50 p99 QD1-write-p50 p99 bytes/cmd: QD32-read QD32-write QD1)"
