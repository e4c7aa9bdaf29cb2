#!/usr/bin/env bash
# A one-node Ceph for Spindle's tests and demos: one monitor on 127.0.0.1, one memstore OSD,
# an "rbd" pool with one replica. Everything (conf, keyrings, data, logs, pid files) lives under
# $SPINDLE_CEPH_DIR (default /tmp/spindle-ceph); nothing is installed as a service.
#
#   ops/ceph/dev-cluster.sh start    start it (idempotent); prints the conf path
#   ops/ceph/dev-cluster.sh stop     stop the daemons this script started (by their pid files)
#   ops/ceph/dev-cluster.sh status   say whether it is up and serving the rbd pool
#   ops/ceph/dev-cluster.sh wipe     stop, then delete the directory
#
# Sized for a small shared machine: memstore (no disk, no bluestore cache), no manager, one OSD,
# one placement group per pool. The monitor listens on $SPINDLE_CEPH_PORT (default 22789), the
# OSD on ports 22800-22899. Needs the Debian packages ceph-mon, ceph-osd, ceph-common, librbd1
# (installed with apt-get when missing and run as root).
set -euo pipefail

DIR=${SPINDLE_CEPH_DIR:-/tmp/spindle-ceph}
PORT=${SPINDLE_CEPH_PORT:-22789}
CONF=$DIR/ceph.conf
ADMIN_KEYRING=$DIR/ceph.client.admin.keyring
# Upper bound for the whole start; each step below has its own, shorter one.
START_TIMEOUT=${SPINDLE_CEPH_START_TIMEOUT:-90}

log() { echo "dev-cluster: $*" >&2; }

need_packages() {
  local need=""
  for cmd_pkg in ceph-mon:ceph-mon ceph-osd:ceph-osd ceph:ceph-common rbd:ceph-common; do
    command -v "${cmd_pkg%%:*}" >/dev/null 2>&1 || need="$need ${cmd_pkg##*:}"
  done
  [ -e /usr/lib/x86_64-linux-gnu/librbd.so.1 ] || [ -e /usr/lib/librbd.so.1 ] || need="$need librbd1"
  [ -z "$need" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing$need"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
  else
    log "missing packages:$need (apt-get install$need)"
    exit 2
  fi
}

ceph_cmd() { timeout 20 ceph -c "$CONF" --connect-timeout 10 "$@"; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

running() { alive "$DIR/run/mon.a.pid" && alive "$DIR/run/osd.0.pid"; }

serving() { timeout 15 rados -c "$CONF" -p rbd stat spindle-probe >/dev/null 2>&1; }

write_conf() {
  cat > "$CONF" <<CONF
[global]
fsid = $1
mon host = v2:127.0.0.1:$PORT
mon initial members = a
public addr = 127.0.0.1
ms bind msgr1 = false
ms bind port min = 22800
ms bind port max = 22899
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
run dir = $DIR/run
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
# Bounded waits: a client never hangs on a cluster that is down.
client mount timeout = 15
rados mon op timeout = 15
rados osd op timeout = 30

[mon]
mon data = $DIR/mon/\$cluster-\$id
admin socket = $DIR/run/\$name.asok

[osd]
osd data = $DIR/osd/\$cluster-\$id
keyring = $DIR/osd/\$cluster-\$id/keyring
admin socket = $DIR/run/\$name.asok
osd objectstore = memstore
memstore device bytes = 4294967296
osd op num threads per shard = 1
osd op num shards = 1
osd memory target = 268435456
osd max object name len = 256
osd max object namespace len = 64

[client]
keyring = $ADMIN_KEYRING
# Clients (Spindle, rbd, fio) keep no admin socket: several run at once.
admin socket =
rbd cache = false
CONF
}

start() {
  need_packages
  mkdir -p "$DIR/run" "$DIR/log"
  if running && serving; then
    log "already running ($CONF)"
    echo "$CONF"
    return 0
  fi
  stop_daemons quiet
  local deadline=$((SECONDS + START_TIMEOUT))
  # A memstore OSD keeps nothing across a restart, while the monitor's map still lists the old pool's
  # placement groups: a restarted OSD then queues every request for them forever ('queued for pg').
  # Whatever is not serving now is rebuilt from nothing; its data was gone with the OSD anyway.
  rm -rf "$DIR/mon" "$DIR/osd" "$DIR/monmap" "$DIR/mon.keyring" "$ADMIN_KEYRING"
  mkdir -p "$DIR/mon/ceph-a" "$DIR/osd/ceph-0"
  local fsid; fsid=$(cat /proc/sys/kernel/random/uuid)
  write_conf "$fsid"
  ceph-authtool --create-keyring "$DIR/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$ADMIN_KEYRING" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$DIR/mon.keyring" --import-keyring "$ADMIN_KEYRING" >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$PORT]" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/mon.keyring"
  log "monitor created"
  ceph-mon -c "$CONF" -i a
  until ceph_cmd mon stat >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { log "monitor did not answer; see $DIR/log/mon.a.log"; exit 1; }
    sleep 1
  done
  local uuid; uuid=$(cat /proc/sys/kernel/random/uuid)
  ceph_cmd osd new "$uuid" 0 >/dev/null
  ceph-osd -c "$CONF" -i 0 --mkfs --mkkey --no-mon-config --osd-uuid "$uuid" 2>>"$DIR/log/osd-mkfs.log"
  ceph_cmd auth add osd.0 osd 'allow *' mon 'allow profile osd' mgr 'allow profile osd' \
    -i "$DIR/osd/ceph-0/keyring" >/dev/null
  log "OSD created"
  ceph-osd -c "$CONF" -i 0 2>>"$DIR/log/osd.0.err"
  if ! ceph_cmd osd pool ls | grep -qx rbd; then
    ceph_cmd osd pool create rbd 8 8 >/dev/null 2>&1
    ceph_cmd osd pool set rbd size 1 --yes-i-really-mean-it >/dev/null 2>&1
    ceph_cmd osd pool application enable rbd rbd >/dev/null
  fi
  until timeout 15 rados -c "$CONF" -p rbd put spindle-probe "$CONF" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { log "the rbd pool does not serve; see $DIR/log/osd.0.log"; exit 1; }
    sleep 1
  done
  log "up in ${SECONDS}s: monitor 127.0.0.1:$PORT, conf $CONF, keyring $ADMIN_KEYRING"
  echo "$CONF"
}

stop_daemons() {
  local any=""
  for name in osd.0 mon.a; do
    local pidfile="$DIR/run/$name.pid"
    if alive "$pidfile"; then
      local pid; pid=$(cat "$pidfile")
      kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
      any=1
    fi
    rm -f "$pidfile"
  done
  [ -n "$any" ] || [ "${1:-}" = quiet ] || log "not running"
}

status() {
  if running && serving; then
    log "running: monitor 127.0.0.1:$PORT, conf $CONF"
    ceph_cmd -s 2>/dev/null || true
    return 0
  fi
  if running; then log "daemons up but the rbd pool does not serve yet"; return 1; fi
  log "not running"
  return 3
}

case "${1:-}" in
  start) start ;;
  stop) stop_daemons ;;
  status) status ;;
  wipe) stop_daemons quiet; rm -rf "$DIR"; log "removed $DIR" ;;
  *) echo "usage: $0 start|stop|status|wipe" >&2; exit 64 ;;
esac
