#!/bin/busybox sh
# /init of the test initramfs: mount the host's / read-only over 9p (tag hostroot) with a tmpfs
# overlay on top, the guest kernel's modules (tag mods) and the job directory (tag job, rw),
# then switch_root to a generated /tb-pid1 that runs /job/run.sh, writes /job/exitcode, prints
# @@TB-EXIT=<rc> and powers off. switch_root (not chroot) keeps module auto-loading working:
# the kernel runs /sbin/modprobe from the new root, which sees /lib/modules/<kver>.
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
fail() { echo "@@TB initramfs: $*"; echo "@@TB-EXIT=125"; poweroff -f; }
for m in $(cat /mods/order); do insmod /mods/$m 2>/dev/null; done
O="trans=virtio,version=9p2000.L,msize=512000"
mount -t 9p -o "$O,ro,cache=loose" hostroot /host || fail "9p mount of the host root failed"
mount -t tmpfs -o size=1g tmpfs /rw; mkdir -p /rw/u /rw/w
mount -t overlay overlay -o lowerdir=/host,upperdir=/rw/u,workdir=/rw/w /newroot || fail "overlay failed"
KV=$(uname -r)
mkdir -p /newroot/lib/modules/$KV /newroot/job
mount -t 9p -o "$O,ro" mods /newroot/lib/modules/$KV || fail "9p mount of the modules failed"
mount -t 9p -o "$O" job /newroot/job || fail "9p mount of the job directory failed"
cat > /newroot/tb-pid1 <<'EOS'
#!/bin/bash
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm; mount -t devpts devpts /dev/pts; mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run  # not /tmp: the checkout under test may live there (CI clones anywhere)
echo "@@TB running /job/run.sh at $(cut -d' ' -f1 /proc/uptime)s"
(cd /job && exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
   HOME=/root TERM=dumb bash ./run.sh) < /dev/null
rc=$?
echo "$rc" > /job/exitcode; sync
echo "@@TB-EXIT=$rc at $(cut -d' ' -f1 /proc/uptime)s"
echo o > /proc/sysrq-trigger; sleep 10
EOS
chmod +x /newroot/tb-pid1
umount /proc /sys /dev 2>/dev/null
exec switch_root /newroot /tb-pid1
