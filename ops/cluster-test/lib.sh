# Shared by failover.sh and bench.sh (source it; it expects ROOT, NETNS, KEEP, CLUSTER set):
# the network (a namespace per node on one bridge, or 127.0.0.11-13), node configs, starting and
# stopping Spindle JVMs, and what the initiator sees. Everything it creates is prefixed ci-.

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
# IP, NS (the namespace number a node runs in) and PID per node; bench.sh adds a node "s".
declare -A IP PID NS=([1]=1 [2]=2 [3]=3) NODE_PORT=([1]=$PORT [2]=$PORT [3]=$PORT)
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
    if [ "$who" = ini ]; then ip netns exec ci-ini "$@"; else ip netns exec "ci-n${NS[$who]}" "$@"; fi
  else
    "$@"
  fi
}

spawn() { # spawn K|ini CMD... &: like nsexec, but exec'd, so $! is the process itself (kill -9 hits the JVM)
  local who=$1; shift
  if [ "$USE_NS" = 1 ]; then
    # ip netns exec execs the command after entering the namespace: the same process.
    if [ "$who" = ini ]; then exec ip netns exec ci-ini "$@"; else exec ip netns exec "ci-n${NS[$who]}" "$@"; fi
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
  for k in "${!PID[@]}"; do
    if [ -n "${PID[$k]:-}" ]; then kill -CONT "${PID[$k]}" 2>/dev/null; kill -9 "${PID[$k]}" 2>/dev/null; fi
  done
  [ -n "${VERIFY_PID:-}" ] && kill -9 "$VERIFY_PID" 2>/dev/null
  [ -n "${EXTRA_CLEANUP:-}" ] && $EXTRA_CLEANUP
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
write_config() { # write_config K LUN-FILE CLUSTER(1|0): $WORK/nodeK.json
  local k=$1 lun=$2 clustered=$3
  cat >"$WORK/node$k.json" <<EOF
{
  "portals": [ { "address": "${IP[$k]}:${NODE_PORT[$k]}", "transport": "tcp", "portalGroupTag": 1 } ],
  "targets": [ {
    "name": "$TARGET", "acl": "any",
    "luns": [
      { "lun": 0, "backing": "file", "path": "$lun", "size": "256M" },
      { "lun": 1, "backing": "memory", "size": "16M" }
    ] } ],
  "storage": { "allowedDirectories": [ "$(dirname "$lun")" ] },
  "negotiation": { "errorRecoveryLevel": 2, "defaultTime2Wait": 1, "defaultTime2Retain": 20, "maxConnections": 1 }$(
  [ "$clustered" = 1 ] && printf ',\n  "cluster": {\n    "name": "spindle-ci", "node": "node-%s", "address": "%s:%s",\n    "members": [ %s ], "eventBusAddress": "%s:0"\n  }' \
    "$k" "${IP[$k]}" "$HZ_PORT" "$MEMBERS" "${IP[$k]}")
}
EOF
}

portal_up() { # portal_up K: the node's portal accepts connections (from the initiator's namespace)
  nsexec ini timeout 2 bash -c "exec 3<>/dev/tcp/${IP[$1]}/${NODE_PORT[$1]}" 2>/dev/null
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
serving() { # serving [K]: the node (1-3, not K) with an established iSCSI connection from the initiator, else empty
  local k
  for k in $NODES; do
    [ "$k" = "${1:-}" ] && continue
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
ready() { # ready K: its portal is up and (cluster) its latest start joined the cluster
  portal_up "$1" || return 1
  [ "$CLUSTER" = 1 ] || return 0
  awk '/^---- start/ { joined = 0 } /joined as node-/ { joined = 1 } END { exit !joined }' "$WORK/node$1.log"
}
all_ready() { # all_ready SECONDS: every node ready within that time
  local k end=$((SECONDS + $1))
  for k in $NODES; do
    until ready "$k"; do [ $SECONDS -ge $end ] && return 1; sleep 0.5; done
  done
}

