#!/bin/bash
# The guest's half of the Linux-initiator suite: one step per call, run by run.sh over ssh as
#   IFACE=default|iser PORTAL=10.0.2.2:PORT IQN=... bash /root/steps.sh STEP [ARGS]
# It exits 0 when the step passed and prints what it saw. IFACE=default is open-iscsi's iscsi_tcp,
# IFACE=iser is ib_iser over the soft-iWARP device siw0 (step siw makes it).
# QEMU's user network shows the host's loopback to the guest as 10.0.2.2: SendTargets answers with
# the 127.0.0.1 addresses the target sees, which in the guest are the guest itself, so every node
# record is made by hand for PORTAL.
set -uo pipefail
IFACE=${IFACE:-default}; PORTAL=${PORTAL:?}; IQN=${IQN:?}
NODE=(iscsiadm -m node -T "$IQN" -p "$PORTAL" -I "$IFACE")
MNT=/mnt/spindle

dev() {  # the disk of the one session to IQN at PORTAL, waiting for udev (30 s)
  local d
  for _ in $(seq 30); do
    udevadm settle -t 5
    d=$(iscsiadm -m session -P3 2>/dev/null | awk -v t="$IQN" -v p="$PORTAL" '
      /^Target:/ {m = ($2 == t)} /Current Portal:/ {q = (index($3, p ",") == 1)}
      m && q && /Attached scsi disk/ {print "/dev/" $4; exit}')
    [ -n "$d" ] && [ -b "$d" ] && { echo "$d"; return 0; }
    sleep 1
  done
  echo "no disk for $IQN at $PORTAL" >&2; return 1
}

login() {
  "${NODE[@]}" -o new >/dev/null || return 1
  # Bounded: one try, and a reconnect after the server's kill -9 waits at most 90 s.
  "${NODE[@]}" -o update -n node.session.initial_login_retry_max -v 2 &&
  "${NODE[@]}" -o update -n node.session.timeo.replacement_timeout -v 90 || return 1
  "${NODE[@]}" --login || return 1
  local d; d=$(dev) || return 1
  echo "logged in: $d, $(blockdev --getsize64 "$d") bytes"
  iscsiadm -m session -P1 | grep -E 'Current Portal|Iface Transport|iSCSI Session State'
}
logout() { "${NODE[@]}" --logout; }

step=${1:?step}; shift
# run.sh counts a step as passed only when this line is printed: an empty or cut-off script fails.
trap 'rc=$?; [ $rc = 0 ] && echo "steps.sh: $step ok"; exit $rc' EXIT
case $step in
  siw)  # the soft-iWARP device on eth0, then the iSER initiator
    modprobe -a siw rdma_cm ib_iser || exit 1
    rdma link show | grep -q siw0 || rdma link add siw0 type siw netdev eth0 || exit 1
    rdma link show ;;
  discovery)
    iscsiadm -m node -o delete >/dev/null 2>&1
    out=$(iscsiadm -m discovery -t sendtargets -p "$PORTAL" -I "$IFACE") || { echo "$out"; exit 1; }
    echo "$out"
    # The records name 127.0.0.1 (see above); they are removed and made again for PORTAL.
    iscsiadm -m node -o delete >/dev/null 2>&1
    grep -q " $IQN\$" <<<"$out" ;;
  login) login ;;
  identity)
    d=$(dev) || exit 1
    sg_inq "$d" | grep -E 'Vendor|Product|Peripheral device type' &&
    sg_vpd -p 0x83 "$d" | grep -iE 'naa|designator' | head -4 &&
    sg_vpd -p 0xb0 "$d" | grep -iE 'maximum transfer|unmap' | head -4 &&
    sg_vpd -p 0xb2 "$d" | grep -iE 'lbpu|provisioning' | head -3 &&
    sg_readcap -l "$d" | grep -E 'Last LBA|block length|Logical block provisioning' ;;
  dd)  # 32 MiB of random bytes, O_DIRECT both ways, read back, md5
    d=$(dev) || exit 1
    head -c 32M /dev/urandom > /root/pat.dat
    dd if=/root/pat.dat of="$d" bs=1M oflag=direct conv=fsync status=none || exit 1
    a=$(md5sum < /root/pat.dat); b=$(dd if="$d" bs=1M count=32 iflag=direct status=none | md5sum)
    echo "wrote $a read $b"; [ "$a" = "$b" ] ;;
  mkfs)  # ext4 with five files, their md5 kept for fscheck after a logout and login
    d=$(dev) || exit 1
    mkfs.ext4 -q -F "$d" && mkdir -p $MNT && mount "$d" $MNT || exit 1
    for i in 1 2 3 4; do head -c $((i * 3))M /dev/urandom > $MNT/f$i; done; echo hello > $MNT/small.txt
    (cd $MNT && md5sum f1 f2 f3 f4 small.txt) > /root/files.md5; umount $MNT && cat /root/files.md5 ;;
  relogin) logout && login ;;
  fscheck)
    d=$(dev) || exit 1
    mount "$d" $MNT || exit 1
    (cd $MNT && md5sum -c /root/files.md5); rc=$?; umount $MNT; exit $rc ;;
  fio)  # ARGS: block size spec (4k or 4k-1m) and seconds
    d=$(dev) || exit 1
    case $1 in *-*) bs=--bsrange=$1;; *) bs=--bs=$1;; esac
    fio --name=verify --filename="$d" --direct=1 --ioengine=libaio --rw=randrw "$bs" --iodepth=16 \
        --size=128M --runtime="$2" --time_based --verify=crc32c --verify_backlog=256 --verify_fatal=1 \
        --group_reporting > /root/fio.txt 2>&1; rc=$?
    if [ $rc = 0 ]; then grep -E 'err=|read:|write:' /root/fio.txt; else tail -20 /root/fio.txt; fi; exit $rc ;;
  discard)  # a pattern at 64..80 MiB, discarded, reads back as zeros
    d=$(dev) || exit 1
    dd if=/dev/urandom of="$d" bs=1M seek=64 count=16 oflag=direct status=none &&
    blkdiscard -v -o $((64 << 20)) -l $((16 << 20)) "$d" &&
    cmp <(dd if="$d" bs=1M skip=64 count=16 iflag=direct status=none) <(head -c 16M /dev/zero) &&
    echo "16 MiB read back as zeros" ;;
  pr)  # PERSISTENT RESERVE OUT register, reserve, write, release, unregister (SPC-4 6.16)
    d=$(dev) || exit 1; k=0x5b1d
    sg_persist -n --out --register --param-sark=$k "$d" &&
    sg_persist -n --in --read-keys "$d" | tee /dev/stderr | grep -q 5b1d &&
    sg_persist -n --out --reserve --param-rk=$k --prout-type=1 "$d" &&
    sg_persist -n --in --read-reservation "$d" | tee /dev/stderr | grep -qi 'write exclusive' &&
    dd if=/dev/zero of="$d" bs=4k count=1 seek=1000 oflag=direct status=none &&
    sg_persist -n --out --release --param-rk=$k --prout-type=1 "$d" &&
    sg_persist -n --out --register --param-rk=$k --param-sark=0 "$d" &&
    ! sg_persist -n --in --read-keys "$d" | grep -q 5b1d && echo "registered, reserved, wrote, released, unregistered" ;;
  ddsync-start)  # 24 MiB at 96 MiB, each 64 KiB write synchronous; the server is killed meanwhile
    d=$(dev) || exit 1
    head -c 24M /dev/urandom > /root/sync.dat; rm -f /root/sync.rc
    nohup sh -c "dd if=/root/sync.dat of=$d bs=64k seek=1536 oflag=direct,sync status=none; echo \$? > /root/sync.rc" \
      < /dev/null > /root/sync.log 2>&1 &
    echo "dd started" ;;
  ddsync-progress)  # bytes dd has had acknowledged so far
    pid=$(pgrep -x dd | head -1); [ -n "$pid" ] || { echo 0; exit 0; }
    awk '/^wchar:/ {print $2}' /proc/"$pid"/io ;;
  ddsync-check)  # ARGS: seconds to wait for dd; every block it wrote must read back
    d=$(dev) || exit 1
    for _ in $(seq "$1"); do [ -f /root/sync.rc ] && break; sleep 1; done
    [ -f /root/sync.rc ] || { echo "dd still running after $1 s"; exit 1; }
    echo "dd exit code $(cat /root/sync.rc)"; [ "$(cat /root/sync.rc)" = 0 ] || exit 1
    a=$(md5sum < /root/sync.dat); b=$(dd if="$d" bs=64k skip=1536 count=384 iflag=direct status=none | md5sum)
    echo "wrote $a read $b"; [ "$a" = "$b" ] ;;
  logout) logout ;;
  logouts)  # ARGS: count. Login and logout that many times; no connection error in the kernel log
    n=$1; mark="spindle-logouts-$$"; echo "$mark" > /dev/kmsg
    for i in $(seq "$n"); do
      login >/dev/null || { echo "login $i failed"; exit 1; }
      dd if="$(dev)" of=/dev/null bs=1M count=4 iflag=direct status=none || { echo "read $i failed"; exit 1; }
      logout >/dev/null || { echo "logout $i failed"; exit 1; }
    done
    sleep 2  # a late error would follow the logout by about a millisecond; give it time anyway
    since=$(dmesg | awk -v m="$mark" 'f {print} index($0, m) {f = 1}')
    errors=$(grep -cE 'conn error|QP fatal|local QP operation error' <<<"$since")
    echo "$n logouts, kernel log lines with conn error / QP fatal: $errors"
    grep -E 'conn error|QP fatal|local QP operation error' <<<"$since" | head -5
    [ "$errors" = 0 ] ;;
  *) echo "unknown step $step"; exit 2 ;;
esac
