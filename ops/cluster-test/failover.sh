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

JAVA=${JAVA:-java}
SPINDLE_JAR=${SPINDLE_JAR:-$ROOT/server/target/spindle.jar}
INITIATOR_JAR=${INITIATOR_JAR:-$ROOT/ops/initiator/target/spindle-initiator.jar}
NODE_JAVA_OPTS=${NODE_JAVA_OPTS:--Xms64m -Xmx384m -XX:+UseSerialGC}
for j in "$SPINDLE_JAR" "$INITIATOR_JAR"; do
  [ -f "$j" ] || { echo "missing $j (build: mvn -o -q -pl server,ops/initiator -am package -DskipTests)" >&2; exit 2; }
done

TARGET=iqn.2026-12.io.spindle:cluster
PORT=21260        # iSCSI portal of every node
HZ_PORT=21701     # Hazelcast member port of every node
WORK=${CLUSTER_TEST_DIR:-$(mktemp -d /tmp/ci-cluster.XXXXXX)}
mkdir -p "$WORK"
NODES="1 2 3"
declare -A IP PID
INI_IP=""
USE_NS=0
FAILED=0

now() { date +%T.%3N; }
say() { echo "$(now) $*"; }
check() { # check NAME CONDITION-RESULT(0|1) DETAIL
  if [ "$2" = 0 ]; then echo "CHECK PASS $1: $3"; else echo "CHECK FAIL $1: $3"; FAILED=1; fi
}
nsexec() { # nsexec K|ini CMD...: run CMD in that node's (or the initiator's) namespace
  local who=$1; shift
  if [ "$USE_NS" = 1 ]; then
    if [ "$who" = ini ]; then ip netns exec ci-ini "$@"; else ip netns exec "ci-n$who" "$@"; fi
  else
    "$@"
  fi
}

spawn() { # spawn K|ini CMD... &: like nsexec, but exec'd, so $! is the process itself (kill -9 hits the JVM)
  local who=$1; shift
  if [ "$USE_NS" = 1 ]; then
    # ip netns exec execs the command after entering the namespace: the same process.
    if [ "$who" = ini ]; then exec ip netns exec ci-ini "$@"; else exec ip netns exec "ci-n$who" "$@"; fi
  else
    exec "$@"
  fi
}

# ---- network: ci-hub holds the bridge ci-br0; ci-n1..3 and ci-ini hang off it by veth ----
netns_up() {
  ip netns add ci-hub || return 1
  ip -n ci-hub link add ci-br0 type bridge || return 1
  ip -n ci-hub link set ci-br0 up && ip -n ci-hub link set lo up || return 1
  local n addr
  for n in n1 n2 n3 ini; do
    case $n in n1) addr=10.77.0.11 ;; n2) addr=10.77.0.12 ;; n3) addr=10.77.0.13 ;; ini) addr=10.77.0.10 ;; esac
    ip netns add "ci-$n" || return 1
    ip -n ci-hub link add "ci-$n-h" type veth peer name "ci-$n-e" netns "ci-$n" || return 1
    ip -n ci-hub link set "ci-$n-h" master ci-br0 up || return 1
    ip -n "ci-$n" link set lo up || return 1
    ip -n "ci-$n" addr add "$addr/24" dev "ci-$n-e" || return 1
    ip -n "ci-$n" link set "ci-$n-e" up || return 1
  done
}
netns_down() {
  local n
  for n in ini n3 n2 n1 hub; do ip netns del "ci-$n" 2>/dev/null; done
}

cleanup() {
  local k
  for k in $NODES; do
    if [ -n "${PID[$k]:-}" ]; then kill -CONT "${PID[$k]}" 2>/dev/null; kill -9 "${PID[$k]}" 2>/dev/null; fi
  done
  [ -n "${VERIFY_PID:-}" ] && kill -9 "$VERIFY_PID" 2>/dev/null
  wait 2>/dev/null
  [ "$USE_NS" = 1 ] && netns_down
  if [ "$KEEP" = 1 ] || [ "$FAILED" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$NETNS" = auto ] && [ "$(id -u)" = 0 ] && command -v ip >/dev/null; then
  netns_down
  if netns_up 2>"$WORK/netns.err"; then
    USE_NS=1
  else
    echo "netns: cannot make network namespaces ($(tr '\n' ' ' <"$WORK/netns.err")); using 127.0.0.11-13"
    netns_down
  fi
elif [ "$NETNS" = auto ]; then
  echo "netns: not root or no ip(8): cannot make network namespaces; using 127.0.0.11-13"
fi
if [ "$USE_NS" = 1 ]; then
  IP[1]=10.77.0.11 IP[2]=10.77.0.12 IP[3]=10.77.0.13 INI_IP=10.77.0.10
  echo "netns: nodes in ci-n1..3 (10.77.0.11-13) on bridge ci-br0 (namespace ci-hub), initiator in ci-ini (10.77.0.10)"
else
  IP[1]=127.0.0.11 IP[2]=127.0.0.12 IP[3]=127.0.0.13 INI_IP=127.0.0.1
fi

# ---- node configs: the agreed "cluster" section, one shared backing file ----
MEMBERS="\"${IP[1]}:$HZ_PORT\", \"${IP[2]}:$HZ_PORT\", \"${IP[3]}:$HZ_PORT\""
for k in $NODES; do
  cat >"$WORK/node$k.json" <<EOF
{
  "portals": [ { "address": "${IP[$k]}:$PORT", "transport": "tcp", "portalGroupTag": 1 } ],
  "targets": [ {
    "name": "$TARGET", "acl": "any",
    "luns": [
      { "lun": 0, "backing": "file", "path": "$WORK/lun0.img", "size": "256M" },
      { "lun": 1, "backing": "memory", "size": "16M" }
    ] } ],
  "storage": { "allowedDirectories": [ "$WORK" ] },
  "negotiation": { "errorRecoveryLevel": 2, "defaultTime2Wait": 1, "defaultTime2Retain": 20, "maxConnections": 1 }$(
  [ "$CLUSTER" = 1 ] && printf ',\n  "cluster": {\n    "name": "spindle-ci", "node": "node-%s", "address": "%s:%s",\n    "members": [ %s ], "eventBusAddress": "%s:0"\n  }' \
    "$k" "${IP[$k]}" "$HZ_PORT" "$MEMBERS" "${IP[$k]}")
}
EOF
done
[ "$CLUSTER" = 1 ] || echo "control run: standalone nodes, no cluster section - the failover checks are expected to FAIL"

portal_up() { # portal_up K: the node's portal accepts connections (from the initiator's namespace)
  nsexec ini timeout 2 bash -c "exec 3<>/dev/tcp/${IP[$1]}/$PORT" 2>/dev/null
}
start_node() {
  local k=$1
  echo "---- start $(now)" >>"$WORK/node$k.log"
  spawn "$k" $JAVA $NODE_JAVA_OPTS -jar "$SPINDLE_JAR" --config "$WORK/node$k.json" >>"$WORK/node$k.log" 2>&1 &
  PID[$k]=$!
}
wait_node() { # wait_node K SECONDS: 0 when its portal is up, 1 when it exited, 2 on timeout
  local k=$1 end=$((SECONDS + $2))
  while [ $SECONDS -lt $end ]; do
    kill -0 "${PID[$k]}" 2>/dev/null || return 1
    portal_up "$k" && return 0
    sleep 0.5
  done
  return 2
}
serving() { # the node (1-3) with an established iSCSI connection from the initiator, else empty
  local k
  for k in $NODES; do
    # The JVM's sockets are dual-stack: ss shows [::ffff:10.77.0.11]:21260.
    if nsexec "$k" ss -Htn state established "( sport = :$PORT )" 2>/dev/null | grep -qE "${IP[$k]//./\\.}\]?:$PORT "; then
      echo "$k"; return
    fi
  done
}
ini() { nsexec ini $JAVA -Xmx512m -jar "$INITIATOR_JAR" "$@"; }
sendtargets() { # sendtargets K: the portals node K reports, sorted, space separated
  ini discover "iscsi://${IP[$1]}:$PORT" 2>/dev/null | awk '{print $2}' | sort | tr '\n' ' '
}
expected_portals() { local k s=""; for k in "$@"; do s+="${IP[$k]}:$PORT,1 "; done; echo "$s"; }
members_seen() { # members_seen K N: node K's log shows an N-member cluster
  grep -aE "Members \{size:$2," "$WORK/node$1.log" | tail -1 | grep -q .
}

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
probe_tsih() {
  ini verify "iscsi://${IP[$1]}:$PORT/$TARGET/1" --duration 1s --queue-depth 1 --max-size 4k --region 1m \
    --sendtargets off 2>&1 | sed -n 's/^logged in: TSIH \([0-9]*\),.*/\1/p' | head -1
}

# ---- the failover runs ----
run() { # run kill|stop
  local mode=$1 log="$WORK/verify-$1.log" out="$WORK/verify-$1.out" faults=0 k t0 tsih
  say "verify ($mode): ERL 2, QD $QD, 512 B-1 MiB, ${DURATION}s, a fault every ${EVERY}s"
  spawn ini $JAVA -Xmx768m -jar "$INITIATOR_JAR" verify "iscsi://${IP[1]}:$PORT/$TARGET/0" -v --erl 2 \
    --queue-depth "$QD" --min-size 512 --max-size 1m --duration "${DURATION}s" --region 64m --seed 16 \
    --portal "${IP[2]}:$PORT" --portal "${IP[3]}:$PORT" --liveness-timeout 3s --session-recovery off \
    >"$out" 2>"$log" &
  VERIFY_PID=$!
  local end=$((SECONDS + DURATION)) tsihs=""
  until grep -q "^logged in: TSIH" "$log" 2>/dev/null || ! kill -0 $VERIFY_PID 2>/dev/null; do sleep 0.2; done
  tsih=$(sed -n 's/^logged in: TSIH \([0-9]*\),.*/\1/p' "$log" | head -1)
  say "session TSIH $tsih"
  while [ $((SECONDS + EVERY)) -lt $end ] && kill -0 $VERIFY_PID 2>/dev/null; do
    sleep "$EVERY"
    k=$(serving)
    if [ -z "$k" ]; then say "no node serves the session right now; no fault this round"; continue; fi
    faults=$((faults + 1))
    if [ "$mode" = kill ]; then
      say "FAULT $faults: kill -9 node-$k (${IP[$k]}, pid ${PID[$k]}), the node serving the session"
      kill -9 "${PID[$k]}"; wait "${PID[$k]}" 2>/dev/null
      start_node "$k"
      say "node-$k restarting (pid ${PID[$k]})"
    else
      say "FAULT $faults: SIGSTOP node-$k (${IP[$k]}, pid ${PID[$k]}), the node serving the session"
      kill -STOP "${PID[$k]}"
      t0=$SECONDS
      local now_k=""
      while [ $((SECONDS - t0)) -lt 60 ]; do now_k=$(serving); [ -n "$now_k" ] && [ "$now_k" != "$k" ] && break; sleep 0.2; done
      say "node-${now_k:-none} serves the session now; SIGCONT node-$k"
      kill -CONT "${PID[$k]}"
    fi
    # A new session on the node now serving: its TSIH must differ from the live session's.
    local now_serving; now_serving=$(serving)
    if [ -n "$now_serving" ]; then
      local p; p=$(probe_tsih "$now_serving"); tsihs+="$p "
      say "probe session on node-$now_serving: TSIH ${p:-none}"
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
  [ -n "$tsih" ] && [ $same = 0 ]
  check "tsih-$mode-not-reused" $? "live session TSIH ${tsih:-?}; new sessions got: ${tsihs:-none}"
}

case $MODE in
  kill) run kill ;;
  stop) run stop ;;
  both) run kill; run stop ;;
esac

if [ $FAILED = 0 ]; then echo "RESULT PASS"; exit 0; else echo "RESULT FAIL (logs: rerun with --keep)"; exit 1; fi
