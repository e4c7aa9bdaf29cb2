#!/usr/bin/env bash
# The Linux-initiator suite: a Debian guest under QEMU (build-guest.sh) logs in to a Spindle server
# on this host with the kernel's initiators, open-iscsi's iscsi_tcp and ib_iser over soft-iWARP
# (siw), and runs the same steps over both. Prints "PASS step ..." / "FAIL step ..." per step and a
# final "SUMMARY: N passed, M failed"; exits 0 only when every step passed.
#
#   ops/linux-initiator/run.sh --jar server/target/spindle.jar
#
# Needs: root (to build the guest once; cached under $SPINDLE_LI_CACHE, default
# /var/cache/spindle-linux-initiator), qemu-system-x86, qemu-utils, mmdebstrap, openssh-client, java.
# Env: JAVA (java), LI_PORT (23260: the TCP portal; +1 the iSER portal; +2 the guest's ssh),
#      LI_FIO_SECONDS (10), LI_BOOT_TIMEOUT (480 s), LI_KEEP (keep the work directory),
#      LI_ONLY=logouts (only siw and the 10 iSER logouts: a quick look at the logout path).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
JAR=; while [ $# -gt 0 ]; do case $1 in --jar) JAR=$2; shift 2;; -h|--help) sed -n 2,14p "$0"; exit 0;;
  *) echo "unknown argument $1" >&2; exit 2;; esac; done
[ -f "$JAR" ] || { echo "FAIL step setup: no server jar (--jar PATH), got '$JAR'"; exit 2; }
JAR=$(cd "$(dirname "$JAR")" && pwd)/$(basename "$JAR")
JAVA=${JAVA:-java}
TCP_PORT=${LI_PORT:-23260}; ISER_PORT=$((TCP_PORT + 1)); SSH_PORT=$((TCP_PORT + 2))
FIO_S=${LI_FIO_SECONDS:-10}
IQN=iqn.2026-12.io.spindle:linux-initiator
T0=$SECONDS; passed=0; failed=0; SERVER=; QEMU=
W=$(mktemp -d /tmp/spindle-li.XXXXXX)
cp "$JAR" "$W/spindle.jar"  # a rebuild of the jar meanwhile must not change the server under test

cleanup() {
  [ -n "$QEMU" ] && kill "$QEMU" 2>/dev/null && sleep 1 && kill -9 "$QEMU" 2>/dev/null
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null
  wait 2>/dev/null
  if [ -n "${LI_KEEP:-}" ] || [ "$failed" != 0 ]; then echo "work directory kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

record() {  # record NAME RC OUTPUT-FILE
  if [ "$2" = 0 ]; then passed=$((passed + 1)); echo "PASS step $1"
  else failed=$((failed + 1)); echo "FAIL step $1 (exit $2)"; fi
  sed 's/^/    /' "$3" | tail -n 25
  return "$2"
}

# ---------------------------------------------------------------- the server on this host
cat > "$W/spindle.json" <<J
{ "storage": { "allowedDirectories": [ "$W" ] },
  "portals": [ { "address": "127.0.0.1:$TCP_PORT" },
               { "address": "127.0.0.1:$ISER_PORT", "transport": "iser-iwarp" } ],
  "targets": [ { "name": "$IQN", "acl": "any",
                 "luns": [ { "lun": 0, "backing": "file", "path": "$W/lun0.img", "size": "256M" } ] } ] }
J
listening() { (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }
start_server() {
  "$JAVA" -jar "$W/spindle.jar" --config "$W/spindle.json" >> "$W/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 120); do
    listening "$TCP_PORT" && listening "$ISER_PORT" && return 0
    kill -0 "$SERVER" 2>/dev/null || break
    sleep 0.5
  done
  tail -20 "$W/server.log"; return 1
}

# ---------------------------------------------------------------- the guest
boot_guest() {
  IMG=$("$HERE/build-guest.sh" 2> "$W/build.log" | tail -1)
  [ -f "$IMG/disk.img" ] || { cat "$W/build.log"; return 1; }
  echo "guest image $IMG ($(cat "$IMG/kernel"))"
  qemu-img create -q -f qcow2 -F raw -b "$IMG/disk.img" "$W/overlay.qcow2" || return 1
  local accel=tcg cpu=max
  if [ -w /dev/kvm ] && grep -qE '\b(vmx|svm)\b' /proc/cpuinfo; then accel=kvm; cpu=host; fi
  # no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer check can fail and panic.
  qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -M q35 -smp 2 -m 1536 -nodefaults -display none -no-reboot \
    -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img" \
    -append "root=/dev/vda rw console=ttyS0 net.ifnames=0 panic=-1 no_timer_check quiet" \
    -drive file="$W/overlay.qcow2",if=virtio,format=qcow2,cache=unsafe \
    -netdev "user,id=n0,net=10.0.2.0/24,host=10.0.2.2,hostfwd=tcp:127.0.0.1:$SSH_PORT-:22" \
    -device virtio-net-pci,netdev=n0 -object rng-random,id=rng0,filename=/dev/urandom \
    -device virtio-rng-pci,rng=rng0 -serial file:"$W/console.log" </dev/null > "$W/qemu.log" 2>&1 &
  QEMU=$!
  local t=$SECONDS
  until ssh_guest true 2>/dev/null; do
    kill -0 "$QEMU" 2>/dev/null || { echo "qemu exited"; cat "$W/qemu.log"; tail -20 "$W/console.log"; return 1; }
    (( SECONDS - t > ${LI_BOOT_TIMEOUT:-480} )) && { echo "no ssh after ${LI_BOOT_TIMEOUT:-480} s"; tail -20 "$W/console.log"; return 1; }
    sleep 3
  done
  echo "guest up after $((SECONDS - t)) s (accel $accel)"
  ssh_in 'cat > /root/steps.sh' < "$HERE/guest/steps.sh" &&
  ssh_in cmp -s /root/steps.sh - < "$HERE/guest/steps.sh" || { echo "could not copy steps.sh into the guest"; return 1; }
}
ssh_in() {  # ssh to the guest with this shell's stdin
  ssh -i "$IMG/id_ed25519" -p "$SSH_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o LogLevel=ERROR -o ConnectTimeout=10 -o BatchMode=yes -o ServerAliveInterval=15 root@127.0.0.1 "$@"
}
ssh_guest() { ssh_in "$@" < /dev/null; }

# ---------------------------------------------------------------- steps
IFACE=default; PORTAL=
g() {  # g TIMEOUT STEP [ARGS]: one guest step, bounded; passes only with steps.sh's own "ok" line
  local t=$1 out rc; shift
  out=$(timeout "$t" ssh -i "$IMG/id_ed25519" -p "$SSH_PORT" -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10 -o BatchMode=yes root@127.0.0.1 \
    "IFACE=$IFACE PORTAL=$PORTAL IQN=$IQN bash /root/steps.sh $*" < /dev/null 2>&1); rc=$?
  [ $rc = 124 ] && out+=$'\n'"(timed out after $t s)"
  printf '%s\n' "$out" | grep -v '^steps.sh: .* ok$'
  [ $rc = 0 ] && grep -qx "steps.sh: $1 ok" <<<"$out"
}
step() {  # step LABEL TIMEOUT STEP [ARGS]
  local label=$1 t0=$SECONDS rc; shift
  g "$@" > "$W/step.out" 2>&1; rc=$?
  record "$label [$((SECONDS - t0)) s]" $rc "$W/step.out"; return $rc
}
kill9() {  # kill -9 of the server while dd oflag=direct,sync runs; no acknowledged block lost
  local t0=$SECONDS rc=0 done=0 out=$W/kill9.out
  g 60 ddsync-start > "$out" 2>&1 || rc=1
  if [ $rc = 0 ]; then
    for _ in $(seq 120); do
      done=$(g 20 ddsync-progress 2>/dev/null | tr -cd 0-9); [ "${done:-0}" -gt $((2 << 20)) ] && break; sleep 0.5
    done
    echo "dd has had ${done:-0} bytes acknowledged: kill -9 $SERVER" >> "$out"
    kill -9 "$SERVER"; wait "$SERVER" 2>/dev/null
    start_server >> "$out" 2>&1 || rc=1
    echo "server restarted (pid $SERVER)" >> "$out"
  fi
  [ $rc = 0 ] && { g 240 ddsync-check 200 >> "$out" 2>&1 || rc=1; }
  record "kill -9 of the server during dd oflag=direct,sync, no acknowledged block lost over $NAME [$((SECONDS - t0)) s]" $rc "$out"
}
suite() {  # suite NAME IFACE PORT
  NAME=$1; IFACE=$2; PORTAL=10.0.2.2:$3
  step "discovery (SendTargets) over $NAME" 60 discovery || return
  step "login over $NAME" 120 login || return
  step "sg_inq, VPD 0x83 0xb0 0xb2, READ CAPACITY 16 over $NAME" 60 identity
  step "dd 32 MiB, read back, md5 over $NAME" 180 dd
  step "mkfs.ext4 and 5 files over $NAME" 240 mkfs &&
  step "logout, login over $NAME" 120 relogin &&
  step "mount, md5sum -c after logout/login over $NAME" 120 fscheck
  step "fio randrw 4 KiB ${FIO_S} s crc32c verify over $NAME" $((FIO_S + 180)) fio 4k "$FIO_S"
  step "fio randrw 4 KiB-1 MiB ${FIO_S} s crc32c verify over $NAME" $((FIO_S + 240)) fio 4k-1m "$FIO_S"
  step "blkdiscard 16 MiB reads back zeros over $NAME" 120 discard
  step "sg_persist register/reserve/release over $NAME" 60 pr
  kill9
  step "logout over $NAME" 60 logout
}

echo "Linux-initiator suite: work directory $W"
start_server > "$W/step.out" 2>&1; record "start the server (TCP portal $TCP_PORT, iSER portal $ISER_PORT)" $? "$W/step.out" || exit 1
boot_guest > "$W/step.out" 2>&1; record "build (or reuse) and boot the guest" $? "$W/step.out" || exit 1
if [ "${LI_ONLY:-}" != logouts ]; then
  suite iscsi_tcp default "$TCP_PORT"
  IFACE=default PORTAL=10.0.2.2:$ISER_PORT
  step "iscsi_tcp login on the iSER portal" 120 login &&
  step "sg_inq over iscsi_tcp on the iSER portal" 60 identity &&
  step "logout of iscsi_tcp on the iSER portal" 60 logout
fi
IFACE=iser PORTAL=10.0.2.2:$ISER_PORT
step "soft-iWARP siw0 on eth0, ib_iser loaded" 60 siw && {
  [ "${LI_ONLY:-}" = logouts ] || suite "ib_iser/siw" iser "$ISER_PORT"
  IFACE=iser PORTAL=10.0.2.2:$ISER_PORT
  step "10 consecutive iSER logins and logouts, no conn error / QP fatal in dmesg" 600 logouts 10
}
ssh_guest dmesg > "$W/dmesg.txt" 2>&1
echo "SUMMARY: $passed passed, $failed failed, $((SECONDS - T0)) s"
[ "$failed" = 0 ]
