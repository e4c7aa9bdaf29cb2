#!/usr/bin/env bash
# Builds the Debian bookworm guest the Linux-initiator suite boots (run as root; needs mmdebstrap,
# e2fsprogs and network access to Debian's mirrors):
#   $CACHE/<key>/vmlinuz, initrd.img   the guest kernel (Debian's linux-image-amd64) and initramfs
#   $CACHE/<key>/disk.img              raw ext4 root file system (root=/dev/vda), never written by a run
#   $CACHE/<key>/id_ed25519            the key the host logs in to the guest with (root, ssh)
# <key> is a hash of this script, so a changed recipe builds a new image and an unchanged one is
# reused (about 5 minutes cold, 0 s cached). Prints the image directory on its last line.
#
# siw (soft-iWARP) is not built into bookworm's kernel (# CONFIG_RDMA_SIW is not set): it is
# built out of tree inside the guest tree, from Debian's linux-source of exactly the guest
# kernel's version and the matching linux-headers (ib_core's symbols come from their
# Module.symvers); the compiler and sources are purged again before the image is made.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${SPINDLE_LI_CACHE:-/var/cache/spindle-linux-initiator}
KEY=$(sha256sum "$HERE/build-guest.sh" | cut -c1-16)
OUT=$CACHE/$KEY
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}
say() { echo "build-guest: $*" >&2; }

if [ -f "$OUT/done" ]; then say "cached image $OUT"; echo "$OUT"; exit 0; fi
command -v mmdebstrap >/dev/null || { say "mmdebstrap is not installed (apt-get install mmdebstrap)"; exit 2; }
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"; flock -w 1800 9 || { say "another build holds $CACHE/.lock"; exit 2; }
if [ -f "$OUT/done" ]; then say "cached image $OUT (built meanwhile)"; echo "$OUT"; exit 0; fi
rm -rf "$OUT.tmp"; mkdir -p "$OUT.tmp"; T=$OUT.tmp; ROOT=$T/rootfs

# What the suite uses in the guest; nothing else (no recommends). Build-only packages are purged.
PKGS=systemd-sysv,udev,openssh-server,iproute2,kmod,procps,util-linux,e2fsprogs,\
linux-image-amd64,initramfs-tools,open-iscsi,fio,sg3-utils,rdma-core,ibverbs-providers
BUILD=linux-headers-amd64,linux-source-6.1,gcc,make,xz-utils,libc6-dev

say "mmdebstrap bookworm (+ security) into $ROOT"
mmdebstrap --variant=minbase --include="$PKGS,$BUILD" \
  --aptopt='APT::Install-Recommends "false"' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
  bookworm "$ROOT" "deb $MIRROR bookworm main" "deb $SECURITY bookworm-security main" >&2

KVER=$(basename "$(readlink -f "$ROOT/vmlinuz")"); KVER=${KVER#vmlinuz-}
VER=$(chroot "$ROOT" dpkg-query -W -f='${Version}' "linux-image-$KVER")
SVER=$(chroot "$ROOT" dpkg-query -W -f='${Version}' linux-source-6.1)
[ "$VER" = "$SVER" ] || { say "linux-source-6.1 $SVER does not match linux-image-$KVER $VER"; exit 1; }
say "building siw for $KVER ($VER)"
chroot "$ROOT" sh -euc "
  mkdir -p /tmp/siw && cd /tmp/siw
  tar -xJf /usr/src/linux-source-6.1.tar.xz --strip-components=1 linux-source-6.1/drivers/infiniband/sw/siw
  make -s -C /usr/src/linux-headers-$KVER M=/tmp/siw/drivers/infiniband/sw/siw CONFIG_RDMA_SIW=m modules
  strip --strip-debug drivers/infiniband/sw/siw/siw.ko
  install -D -m 644 drivers/infiniband/sw/siw/siw.ko /lib/modules/$KVER/updates/siw.ko
  depmod -a $KVER
  cd / && rm -rf /tmp/siw" >&2
chroot "$ROOT" modinfo -k "$KVER" -F vermagic siw >&2
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq --autoremove \
  "linux-headers-$KVER" linux-headers-amd64 linux-source-6.1 gcc gcc-12 make xz-utils libc6-dev >&2
chroot "$ROOT" apt-get clean

# Guest configuration. The guest gets 10.0.2.15/24 on QEMU's user network and no default route:
# it reaches the host's loopback as 10.0.2.2 and nothing else.
echo spindle-li > "$ROOT/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 spindle-li\n' > "$ROOT/etc/hosts"
printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' > "$ROOT/etc/fstab"
: > "$ROOT/etc/resolv.conf"
mkdir -p "$ROOT/etc/systemd/network"
printf '[Match]\nName=eth0\n[Network]\nAddress=10.0.2.15/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n' \
  > "$ROOT/etc/systemd/network/10-eth0.network"
chroot "$ROOT" systemctl enable systemd-networkd ssh >/dev/null 2>&1
chroot "$ROOT" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
  systemd-timesyncd.service >/dev/null 2>&1 || true
ssh-keygen -q -t ed25519 -N '' -C spindle-li -f "$T/id_ed25519"
install -d -m 700 "$ROOT/root/.ssh"
install -m 600 "$T/id_ed25519.pub" "$ROOT/root/.ssh/authorized_keys"
printf 'PermitRootLogin prohibit-password\nUseDNS no\n' > "$ROOT/etc/ssh/sshd_config.d/spindle-li.conf"
echo "InitiatorName=iqn.2026-12.io.spindle:linux-initiator" > "$ROOT/etc/iscsi/initiatorname.iscsi"
: > "$ROOT/etc/machine-id"

cp -L "$ROOT/vmlinuz" "$T/vmlinuz"; cp -L "$ROOT/initrd.img" "$T/initrd.img"
echo "$KVER $VER" > "$T/kernel"
mkfs.ext4 -q -L spindle-li -d "$ROOT" "$T/disk.img" 2G
rm -rf "$ROOT"
touch "$T/done"
rm -rf "$OUT"; mv "$T" "$OUT"
say "built $OUT ($(du -sh "$OUT" | cut -f1))"
echo "$OUT"
