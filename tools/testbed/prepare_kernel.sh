#!/bin/bash
# Fetch Debian's own kernel package with apt (linux-image-amd64 -> linux-image-6.1.*-amd64),
# extract vmlinuz and the module subtrees a network test needs (without installing it), run
# depmod, and build a small busybox initramfs that mounts the host's / read-only over virtio-9p.
#
# Usage: prepare_kernel.sh WORKDIR
# Needs: apt-get, dpkg-deb, kmod (depmod, modprobe), busybox-static, cpio, gzip.
# Produces WORKDIR/{vmlinuz,initrd.cpio.gz,kver,modules/<kver>/}. A second run with the same
# kernel package and the same init script reuses everything (stamp file) and takes ~0 s.
set -euo pipefail
W=${1:?usage: prepare_kernel.sh WORKDIR}
mkdir -p "$W/dl"; W=$(cd "$W" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
die() { echo "prepare_kernel: $*" >&2; exit 1; }
for tool in apt-get apt-cache dpkg-deb depmod modprobe cpio gzip; do
  command -v "$tool" >/dev/null || die "missing tool $tool (make apt installs it)"
done
[ -x /bin/busybox ] || die "missing /bin/busybox (apt-get install busybox-static)"

pkg() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'; }
PKG=$(pkg)
if [ -z "$PKG" ]; then
  echo "prepare_kernel: apt lists no linux-image-amd64; running apt-get update"
  apt-get update -qq || die "apt-get update failed"
  PKG=$(pkg)
fi
[ -n "$PKG" ] || die "cannot resolve linux-image-amd64 to a kernel package"
KVER=${PKG#linux-image-}
STAMP="$PKG $(sha1sum "$HERE/initrd-init.sh" | cut -c1-12)"
if [ -f "$W/stamp" ] && [ "$(cat "$W/stamp")" = "$STAMP" ] && [ -f "$W/vmlinuz" ] && [ -f "$W/initrd.cpio.gz" ]; then
  echo "prepare_kernel: cached $KVER in $W"; exit 0
fi
cd "$W/dl"
if ! ls "${PKG}"_*.deb >/dev/null 2>&1; then
  apt-get download "$PKG" 2>&1 | grep -v 'Download is performed unsandboxed' || true
fi
DEB=$(ls "${PKG}"_*.deb 2>/dev/null | head -1)
[ -n "$DEB" ] || die "apt-get download $PKG failed"

M="./lib/modules/$KVER"
rm -rf "$W/x"; mkdir -p "$W/x"
dpkg-deb --fsys-tarfile "$DEB" | tar -x -C "$W/x" ./boot "$M/kernel/net" "$M/kernel/crypto" "$M/kernel/lib" \
  "$M/kernel/arch" "$M/kernel/fs/9p" "$M/kernel/fs/netfs" "$M/kernel/fs/fscache" "$M/kernel/fs/overlayfs" \
  "$M/kernel/drivers/virtio" "$M/kernel/drivers/net" "$M/kernel/drivers/char" \
  "$M/modules.order" "$M/modules.builtin" "$M/modules.builtin.modinfo"
depmod -b "$W/x" "$KVER"        # the .deb ships no modules.dep
rm -rf "$W/modules"; mkdir -p "$W/modules"; mv "$W/x/lib/modules/$KVER" "$W/modules/$KVER"
cp "$W/x/boot/vmlinuz-$KVER" "$W/vmlinuz"; rm -rf "$W/x"
echo "$KVER" > "$W/kver"

# initramfs: static busybox + the modules needed to mount 9p and overlay, in dependency order
I="$W/initrd"; rm -rf "$I"; mkdir -p "$I"/{bin,dev,proc,sys,mods,host,rw,newroot}
cp /bin/busybox "$I/bin/busybox"
: > "$I/mods/order"
mkdir -p "$W/.mp/lib/modules"; ln -sfn "$W/modules/$KVER" "$W/.mp/lib/modules/$KVER"
for m in virtio_pci 9pnet_virtio 9p overlay; do
  modprobe -S "$KVER" -d "$W/.mp" --show-depends "$m" | awk '$1=="insmod"{print $2}'
done | awk '!seen[$0]++' | while read -r ko; do
  cp "$ko" "$I/mods/"; basename "$ko" >> "$I/mods/order"
done
cp "$HERE/initrd-init.sh" "$I/init"; chmod +x "$I/init"
(cd "$I" && find . | cpio -o -H newc --quiet | gzip -1 > "$W/initrd.cpio.gz")
rm -rf "$I"
echo "$STAMP" > "$W/stamp"
echo "prepare_kernel: $KVER ready in $W ($(du -sh "$W/modules" | cut -f1) of modules)"
