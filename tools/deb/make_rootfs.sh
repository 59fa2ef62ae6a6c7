#!/bin/bash
# Build (once) and cache a clean Debian 12 root for the install test: debootstrap minbase plus
# systemd-sysv, apt sources copied from the host (bookworm, -updates, -security: Debian's
# archive only). A second run with the same script reuses it (stamp file) and takes ~0 s.
#
# Usage: make_rootfs.sh ROOTDIR      (as root; needs debootstrap and Debian's mirror)
# The root is used read-only as the lower layer of the VM's overlay, so tests never dirty it;
# only `refresh` (fetch_deps.sh) writes apt lists and downloaded .debs into it.
set -euo pipefail
R=${1:?usage: make_rootfs.sh ROOTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
SUITE=bookworm
die() { echo "make_rootfs: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (debootstrap)"
command -v debootstrap >/dev/null || die "debootstrap missing (make apt installs it)"
STAMP="$SUITE $(sha1sum "$HERE/make_rootfs.sh" | cut -c1-12)"
if [ -f "$R.stamp" ] && [ "$(cat "$R.stamp")" = "$STAMP" ] && [ -x "$R/lib/systemd/systemd" ]; then
  echo "make_rootfs: cached $SUITE root in $R"; exit 0
fi
MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
rm -rf "$R" "$R.stamp" "$R.tmp"; mkdir -p "$(dirname "$R")"
T0=$(date +%s)
# systemd-sysv: the VM boots systemd as PID 1; kmod: /sbin/modprobe, which the kernel runs to
# auto-load modules (veth, ip6_tunnel, ...), as on any installed Debian; openssh-client: the
# install test logs in to the daemon's SSH server as an operator would. Nothing of pmiprouter's
# dependencies is included: `apt install ./pmiprouter_*.deb` must pull them itself.
if ! debootstrap --variant=minbase --include=systemd-sysv,kmod,openssh-client "$SUITE" "$R.tmp" "$MIRROR" > "$R.log" 2>&1; then
  tail -20 "$R.log" >&2; rm -rf "$R.tmp"; die "debootstrap failed (log: $R.log)"
fi
echo pmiptest > "$R.tmp/etc/hostname"
: > "$R.tmp/etc/fstab"
# Same archive as the host (Debian only): bookworm, bookworm-updates, bookworm-security.
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  rm -f "$R.tmp/etc/apt/sources.list"
  cp /etc/apt/sources.list.d/debian.sources "$R.tmp/etc/apt/sources.list.d/debian.sources"
fi
# The guest has no network and no console login: stop units that only wait or prompt.
ln -sf /dev/null "$R.tmp/etc/systemd/system/systemd-networkd-wait-online.service"
ln -sf /dev/null "$R.tmp/etc/systemd/system/getty@tty1.service"
ln -sf /dev/null "$R.tmp/etc/systemd/system/serial-getty@ttyS0.service"
rm -f "$R.tmp/var/cache/apt/archives/"*.deb
mv "$R.tmp" "$R"
echo "$STAMP" > "$R.stamp"
echo "make_rootfs: $SUITE root ready in $R ($(du -sh "$R" | cut -f1), $(( $(date +%s) - T0 )) s)"
