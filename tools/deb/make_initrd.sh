#!/bin/bash
# Build the install test's initramfs (busybox + the 9p/overlay modules + initrd-init-systemd.sh)
# from a kernel work dir made by tools/testbed/prepare_kernel.sh. Cached by a stamp file.
#
# Usage: make_initrd.sh KWORK OUT.cpio.gz
set -euo pipefail
K=$(cd "${1:?usage: make_initrd.sh KWORK OUT}" && pwd); OUT=${2:?usage: make_initrd.sh KWORK OUT}
HERE=$(cd "$(dirname "$0")" && pwd)
die() { echo "make_initrd: $*" >&2; exit 1; }
[ -f "$K/kver" ] || die "$K is not a prepared kernel (run tools/testbed/prepare_kernel.sh)"
[ -x /bin/busybox ] || die "missing /bin/busybox (apt-get install busybox-static)"
KV=$(cat "$K/kver")
STAMP="$KV $(sha1sum "$HERE/initrd-init-systemd.sh" | cut -c1-12)"
if [ -f "$OUT" ] && [ -f "$OUT.stamp" ] && [ "$(cat "$OUT.stamp")" = "$STAMP" ]; then exit 0; fi
I=$(mktemp -d "${TMPDIR:-/tmp}/pmip-initrd.XXXXXX")
M=$(mktemp -d "${TMPDIR:-/tmp}/pmip-modroot.XXXXXX")
trap 'rm -rf "$I" "$M"' EXIT
mkdir -p "$I"/{bin,dev,proc,sys,mods,host,rw,newroot} "$M/lib/modules"
ln -s "$K/modules/$KV" "$M/lib/modules/$KV"
cp /bin/busybox "$I/bin/busybox"
: > "$I/mods/order"
for m in virtio_pci 9pnet_virtio 9p overlay; do
  modprobe -S "$KV" -d "$M" --show-depends "$m" | awk '$1=="insmod"{print $2}'
done | awk '!seen[$0]++' | while read -r ko; do
  cp "$ko" "$I/mods/"; basename "$ko" >> "$I/mods/order"
done
[ -s "$I/mods/order" ] || die "no modules found for 9p/overlay in $K/modules/$KV"
cp "$HERE/initrd-init-systemd.sh" "$I/init"; chmod +x "$I/init"
(cd "$I" && find . | cpio -o -H newc --quiet | gzip -1 > "$OUT.tmp")
mv "$OUT.tmp" "$OUT"; echo "$STAMP" > "$OUT.stamp"
echo "make_initrd: $OUT ($KV)"
