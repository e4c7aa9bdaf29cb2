#!/usr/bin/env bash
# Three Spindle nodes (separate JVMs) serving one LUN from one shared file, the project's initiator
# running its verify workload at ERL 2 across their portals, and the node serving the session
# killed (kill -9) or hung (SIGSTOP) every --every seconds. See ops/cluster-test/README.md.
#
# Exit: 0 every check passed, 1 a check failed, 2 bad usage or missing jars,
#       77 skipped (this server build has no cluster support) - the reason is the last line.
set -uo pipefail

usage() {
  cat <<'EOF'
usage: ops/cluster-test/failover.sh [--mode kill|stop|both] [--duration 120s] [--every 20s]
                                    [--queue-depth 32] [--netns auto|no] [--keep] [--no-cluster] [--help]
  --mode       kill: kill -9 the node serving the session, then restart it; stop: SIGSTOP it,
               SIGCONT it once another node serves the session; both (default): kill, then stop
  --duration   length of each verify run (default 120s); --every: time between faults (20s)
  --netns      auto (default): each node in its own network namespace (root needed), falling
               back to 127.0.0.11-13 when namespaces cannot be made; no: 127.0.0.11-13 always
  --keep       keep the work directory (configs, node and initiator logs); kept anyway when a check fails
  --no-cluster the harness's own control run: three standalone nodes (no "cluster" section), so
               the failover checks must FAIL (the session's TSIH is unknown to the other nodes)
env: SPINDLE_JAR (server/target/spindle.jar), INITIATOR_JAR (ops/initiator/target/spindle-initiator.jar),
     JAVA (java), NODE_JAVA_OPTS, CLUSTER_TEST_DIR (work directory; default a new /tmp/ci-cluster.*)
EOF
}

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MODE=both DURATION=120 EVERY=20 QD=32 NETNS=auto KEEP=0 CLUSTER=1
seconds() { local v=$1; v=${v%s}; [[ $v =~ ^[0-9]+$ ]] || { echo "bad duration $1" >&2; exit 2; }; echo "$v"; }
while [ $# -gt 0 ]; do
  case $1 in
    --mode) MODE=$2; shift 2 ;;
    --duration) DURATION=$(seconds "$2"); shift 2 ;;
    --every) EVERY=$(seconds "$2"); shift 2 ;;
    --queue-depth) QD=$2; shift 2 ;;
    --netns) NETNS=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --no-cluster) CLUSTER=0; shift ;;
    --help|-h) usage; exit 0 ;;
    *) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
case $MODE in kill|stop|both) ;; *) echo "--mode: kill, stop or both" >&2; exit 2 ;; esac

. "$ROOT/ops/cluster-test/lib.sh"

for k in $NODES; do write_config "$k" "$WORK/lun0.img" "$CLUSTER"; done
[ "$CLUSTER" = 1 ] || echo "control run: standalone nodes, no cluster section - the failover checks are expected to FAIL"

# ---- preflight: does this server build take a "cluster" section at all? ----
say "starting node 1 (${IP[1]})"
start_node 1
wait_node 1 90; rc=$?
if [ $rc != 0 ]; then
  if grep -qaE "cluster: unknown field|unknown field.*cluster" "$WORK/node1.log"; then
    echo "SKIP: this server build has no cluster support: a config with \"cluster\" is refused ($(grep -aE -m1 'unknown field' "$WORK/node1.log" | cut -c1-200))"
    exit 77
  fi
  echo "node 1 did not come up (rc $rc); its log:"; tail -30 "$WORK/node1.log"
  exit 1
fi
for k in 2 3; do say "starting node $k (${IP[$k]})"; start_node "$k"; done
for k in 2 3; do
  wait_node "$k" 90 || { echo "node $k did not come up; its log:"; tail -30 "$WORK/node$k.log"; exit 1; }
done
end=$((SECONDS + 60))
[ "$CLUSTER" = 1 ] && until members_seen 1 3 || [ $SECONDS -ge $end ]; do sleep 1; done
say "three nodes up (pids ${PID[1]} ${PID[2]} ${PID[3]})"

# ---- SendTargets from each node, before and after a node loss ----
ALL=$(expected_portals 1 2 3)
for k in $NODES; do
  got=$(sendtargets "$k"); echo "sendtargets node-$k before: $got"
  [ "$got" = "$ALL" ]; check "sendtargets-before-node-$k" $? "expected $ALL"
done
say "kill -9 node 3 (pid ${PID[3]}) for the SendTargets check"
kill -9 "${PID[3]}"; wait "${PID[3]}" 2>/dev/null
SURV=$(expected_portals 1 2)
for k in 1 2; do
  end=$((SECONDS + 30)); got=""
  while [ $SECONDS -lt $end ]; do got=$(sendtargets "$k"); [ "$got" = "$SURV" ] && break; sleep 1; done
  echo "sendtargets node-$k after node-3 died: $got"
  [ "$got" = "$SURV" ]; check "sendtargets-after-kill-node-$k" $? "expected $SURV (node-3's portal gone)"
done
start_node 3
wait_node 3 90 || { echo "node 3 did not come back"; tail -30 "$WORK/node3.log"; exit 1; }
end=$((SECONDS + 30)); got=""
while [ $SECONDS -lt $end ]; do got=$(sendtargets 1); [ "$got" = "$ALL" ] && break; sleep 1; done
echo "sendtargets node-1 after node-3 came back: $got"
[ "$got" = "$ALL" ]; check "sendtargets-rejoin" $? "expected $ALL"

# A short session on LUN 1 (memory) of node K: prints its TSIH (cluster-unique while it lives).
# Another initiator name: the same name and ISID would reinstate (end) the workload's session (RFC 7143 §6.3.5).
probe_tsih() {
  ini verify "iscsi://${IP[$1]}:$PORT/$TARGET/1" --initiator-name iqn.2026-12.io.spindle:probe --duration 1s \
    --queue-depth 1 --max-size 4k --region 1m --sendtargets off 2>&1 | sed -n 's/^logged in: TSIH \([0-9]*\),.*/\1/p' | head -1
}

# ---- the failover runs ----
run() { # run kill|stop
  local mode=$1 log="$WORK/verify-$1.log" out="$WORK/verify-$1.out" faults=0 k t0 tsih
  say "verify ($mode): ERL 2, QD $QD, 512 B-1 MiB, ${DURATION}s, a fault every ${EVERY}s"
  spawn ini $JAVA -Xmx768m -jar "$INITIATOR_JAR" verify "iscsi://${IP[1]}:$PORT/$TARGET/0" -v --erl 2 \
    --queue-depth "$QD" --min-size 512 --max-size 1m --duration "${DURATION}s" --region 64m --seed 16 \
    --portal "${IP[2]}:$PORT" --portal "${IP[3]}:$PORT" --liveness-timeout 5s --session-recovery off \
    >"$out" 2>"$log" &
  VERIFY_PID=$!
  local end=$((SECONDS + DURATION)) tsihs=""
  until grep -q "^logged in: TSIH" "$log" 2>/dev/null || ! kill -0 $VERIFY_PID 2>/dev/null; do sleep 0.2; done
  tsih=$(sed -n 's/^logged in: TSIH \([0-9]*\),.*/\1/p' "$log" | head -1)
  say "session TSIH $tsih"
  while kill -0 $VERIFY_PID 2>/dev/null; do
    # A restarted node must be back in the cluster first: killing the last node that holds the
    # session's state is not a failover test.
    local w0=$SECONDS
    all_ready 150 || say "not every node is back after 150 s"
    [ $((SECONDS - w0)) -gt 1 ] && say "every node up and joined ($((SECONDS - w0)) s)"
    [ $((SECONDS + EVERY)) -lt $end ] || break
    sleep "$EVERY"
    k=$(serving)
    if [ -z "$k" ]; then say "no node serves the session right now; no fault this round"; continue; fi
    faults=$((faults + 1))
    t0=$(date +%s%N)
    if [ "$mode" = kill ]; then
      say "FAULT $faults: kill -9 node-$k (${IP[$k]}, pid ${PID[$k]}), the node serving the session"
      kill -9 "${PID[$k]}"; wait "${PID[$k]}" 2>/dev/null
      start_node "$k"
      say "node-$k restarting (pid ${PID[$k]})"
    else
      say "FAULT $faults: SIGSTOP node-$k (${IP[$k]}, pid ${PID[$k]}), the node serving the session"
      kill -STOP "${PID[$k]}"
    fi
    local now_k="" waited=0
    # Another node: a stopped node's socket can stay ESTABLISHED (its kernel never got our FIN).
    while [ $waited -lt 300 ]; do now_k=$(serving "$k"); [ -n "$now_k" ] && break; sleep 0.2; waited=$((waited + 1)); done
    say "node-${now_k:-none} serves the session, $(( ($(date +%s%N) - t0) / 1000000 )) ms after the fault"
    if [ "$mode" = stop ]; then
      say "SIGCONT node-$k"
      kill -CONT "${PID[$k]}"
    fi
    # A new session on the node now serving: its TSIH must differ from the live session's.
    if [ -n "$now_k" ]; then
      local p; p=$(probe_tsih "$now_k"); tsihs+="$p "
      say "probe session on node-$now_k: TSIH ${p:-none}"
    fi
  done
  wait $VERIFY_PID; local rc=$?; VERIFY_PID=""
  local summary; summary=$(grep -E '^commands=' "$out" | tail -1)
  local failovers_logged recoveries relogins
  failovers_logged=$(grep -c ' failover: ' "$log")
  relogins=$(grep -c 'session lost' "$log")
  recoveries=$(echo "$summary" | sed -n 's/.*recoveries=\([0-9]*\).*/\1/p')
  echo "failover $mode: $summary faults=$faults failover-lines=$failovers_logged session-relogins=$relogins (exit $rc)"
  grep -E ' failover: | connection recovery: ' "$log" | sed "s/^/  $mode /"
  [ $rc = 0 ] && echo "$summary" | grep -q 'mismatches=0 ' && echo "$summary" | grep -q 'errors=0 '
  check "verify-$mode-clean" $? "$summary"
  [ -n "$recoveries" ] && [ "$recoveries" -ge "$faults" ] && [ "$faults" -gt 0 ]
  check "verify-$mode-recoveries" $? "recoveries=${recoveries:-?} >= faults=$faults > 0"
  [ "$failovers_logged" -ge "$faults" ] && [ "$relogins" = 0 ]
  check "verify-$mode-continuation" $? "one failover line per fault ($failovers_logged >= $faults), no session re-login ($relogins)"
  local same=0 p; for p in $tsihs; do [ "$p" = "$tsih" ] && same=1; done
  [ -n "$tsih" ] && [ -n "${tsihs// /}" ] && [ $same = 0 ]
  check "tsih-$mode-not-reused" $? "live session TSIH ${tsih:-?}; new sessions got: ${tsihs:-none}"
}

case $MODE in
  kill) run kill ;;
  stop) run stop ;;
  both) run kill; run stop ;;
esac

if [ $FAILED = 0 ]; then echo "RESULT PASS"; exit 0; else echo "RESULT FAIL (logs: rerun with --keep)"; exit 1; fi
