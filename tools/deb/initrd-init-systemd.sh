#!/bin/busybox sh
# /init of the install-test initramfs: the debootstrap root (9p tag rootfs, read-only) under a
# tmpfs overlay becomes / and systemd runs as PID 1 on it. The guest kernel's modules (tag
# mods) appear at /lib/modules/<kver> (module auto-loading: tunnels, tun) and the job
# directory (tag job, read-write) at /job. The cached root is never written.
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
fail() { echo "@@TB initramfs: $*"; echo "@@TB-EXIT=125"; poweroff -f; }
for m in $(cat /mods/order); do insmod /mods/$m 2>/dev/null; done
O="trans=virtio,version=9p2000.L,msize=512000"
mount -t 9p -o "$O,ro,cache=loose" rootfs /host || fail "9p mount of the root failed"
mount -t tmpfs -o size=1g,mode=0755 tmpfs /rw; mkdir -p /rw/u /rw/w
mount -t overlay overlay -o lowerdir=/host,upperdir=/rw/u,workdir=/rw/w /newroot || fail "overlay failed"
KV=$(uname -r)
mkdir -p /newroot/lib/modules/$KV /newroot/job
mount -t 9p -o "$O,ro" mods /newroot/lib/modules/$KV || fail "9p mount of the modules failed"
mount -t 9p -o "$O" job /newroot/job || fail "9p mount of the job directory failed"
[ -x /newroot/lib/systemd/systemd ] || fail "no /lib/systemd/systemd in the root"
umount /proc /sys /dev 2>/dev/null
exec switch_root /newroot /lib/systemd/systemd
