#!/bin/bash
# The VM's root: the cached clean Debian 12 root (make_rootfs.sh) plus pmiprouter's
# dependencies, installed natively here because dpkg under TCG needs minutes for them.
#
# Every run, on the clean root: `apt-get -s install ./PKG.deb` must resolve every package from
# Debian's archive (checked against each Inst line's origin). When the package's Depends change
# (or the clean root does), DEPSROOT is rebuilt: a copy of the clean root in which
# `apt-get install ./PKG.deb` really runs from the mirror (services blocked by policy-rc.d),
# then `dpkg --purge pmiprouter`, leaving exactly the dependencies apt pulled in (and apt's
# binary cache, which the guest would otherwise rebuild from the lists for minutes).
#
# Usage: make_depsroot.sh CLEANROOT DEPSROOT PKG.deb     (as root; needs Debian's mirror)
# Mounts (proc, sys, dev) exist only inside a private mount namespace (unshare): nothing is
# left mounted, even if the script is killed.
set -euo pipefail
BASE=$(cd "${1:?usage: make_depsroot.sh CLEANROOT DEPSROOT PKG.deb}" && pwd)
D=${2:?DEPSROOT}; DEB=$(readlink -f "${3:?PKG.deb}")
die() { echo "make_depsroot: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (chroot)"
command -v unshare >/dev/null || die "unshare missing (util-linux)"
P=$(basename "$DEB")
inroot() {  # inroot ROOT CMD...: run CMD in the chroot with a clean environment
  local r=$1; shift
  chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

# 1. On the clean root: fresh lists, then what would `apt install ./PKG.deb` pull, and from where?
cp /etc/resolv.conf "$BASE/etc/resolv.conf" 2>/dev/null || true
cp "$DEB" "$BASE/tmp/$P"
trap 'rm -f "$BASE/tmp/$P"' EXIT
inroot "$BASE" apt-get update -qq > "$D.update.log" 2>&1 || { cat "$D.update.log" >&2; die "apt-get update in the clean root failed (no mirror?)"; }
inroot "$BASE" apt-get -s install "/tmp/$P" > "$D.sim.txt" 2>&1 || { cat "$D.sim.txt" >&2; die "apt cannot resolve $P on a clean Debian 12"; }
rm -f "$BASE/tmp/$P"
N=$(grep -c '^Inst ' "$D.sim.txt" || true)
FOREIGN=$(grep '^Inst ' "$D.sim.txt" | grep -v '^Inst pmiprouter ' | grep -Ev '^Inst \S+ (\[\S+\] )?\(\S+ (Debian|Debian-Security):' || true)
[ -z "$FOREIGN" ] || { echo "$FOREIGN" >&2; die "apt would pull packages from outside Debian's archive (above)"; }
echo "make_depsroot: apt install ./$P on a clean Debian 12 pulls $N packages, all from Debian's archive" \
     "($(grep '^Inst ' "$D.sim.txt" | grep -o '(\S* [A-Za-z-]*:' | awk '{print $2}' | sort | uniq -c | awk '{printf "%s%s %s", s, $1, $2; s=", "}'))"

# 2. DEPSROOT: cached by the package's Depends and the clean root's stamp.
KEY="$(dpkg-deb -f "$DEB" Depends | sha1sum | cut -c1-12) $(cat "$BASE.stamp" 2>/dev/null)"
if [ -f "$D.stamp" ] && [ "$(cat "$D.stamp")" = "$KEY" ] && [ -d "$D" ]; then
  # apt's binary cache must be there: rebuilding it from the lists under TCG takes minutes.
  [ -f "$D/var/cache/apt/pkgcache.bin" ] || inroot "$D" apt-cache gencaches > /dev/null
  echo "make_depsroot: cached dependencies root in $D"; exit 0
fi
T0=$(date +%s)
rm -rf "$D" "$D.tmp" "$D.stamp"
cp -a "$BASE" "$D.tmp"
cp "$DEB" "$D.tmp/tmp/$P"
printf '#!/bin/sh\nexit 101\n' > "$D.tmp/usr/sbin/policy-rc.d"; chmod 755 "$D.tmp/usr/sbin/policy-rc.d"
export -f inroot
if ! unshare --mount --propagation private -- bash -euo pipefail -c '
    R=$1; P=$2
    mount -t proc proc "$R/proc"; mount -t sysfs sys "$R/sys"; mount --rbind /dev "$R/dev"
    inroot "$R" apt-get install -y -q "/tmp/$P"
    inroot "$R" dpkg --purge pmiprouter
    inroot "$R" apt-get clean
    inroot "$R" apt-cache gencaches' _ "$D.tmp" "$P" > "$D.install.log" 2>&1; then
  tail -30 "$D.install.log" >&2; rm -rf "$D.tmp"; die "installing the dependencies failed (log: $D.install.log)"
fi
rm -f "$D.tmp/usr/sbin/policy-rc.d" "$D.tmp/tmp/$P"
grep -E 'newly installed' "$D.install.log" | sed 's/^/make_depsroot: /'
mv "$D.tmp" "$D"
echo "$KEY" > "$D.stamp"
echo "make_depsroot: dependencies installed in $D ($(( $(date +%s) - T0 )) s)"
