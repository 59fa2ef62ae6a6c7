#!/bin/bash
# Boot Debian's kernel under QEMU (TCG, no network device) with ROOTDIR as a read-only root
# under a tmpfs overlay and systemd as PID 1; systemd runs JOBDIR/run.sh (systemd.run=) and
# powers off. A variant of tools/testbed/run_vm.sh (which boots the host's root without
# systemd); it uses the same prepared kernel.
#
# Usage: run_vm_systemd.sh [-t TIMEOUT_S] [-m MB] [-c CPUS] KWORK INITRD ROOTDIR JOBDIR
# Exit:  the job's status (JOBDIR/exitcode); 125 if the guest gave none (timeout, crash).
set -euo pipefail
TMO=600; MEM=1536; CPUS=2
while getopts "t:m:c:" o; do case $o in
  t) TMO=$OPTARG;; m) MEM=$OPTARG;; c) CPUS=$OPTARG;;
  *) echo "usage: $0 [-t s] [-m MB] [-c n] KWORK INITRD ROOTDIR JOBDIR" >&2; exit 2;; esac; done
shift $((OPTIND-1))
[ $# = 4 ] || { echo "usage: $0 [-t s] [-m MB] [-c n] KWORK INITRD ROOTDIR JOBDIR" >&2; exit 2; }
K=$(cd "$1" && pwd); INITRD=$(readlink -f "$2"); R=$(cd "$3" && pwd); J=$(cd "$4" && pwd)
KV=$(cat "$K/kver")
command -v qemu-system-x86_64 >/dev/null || { echo "run_vm_systemd: qemu-system-x86_64 missing (apt-get install qemu-system-x86)" >&2; exit 125; }
[ -x "$J/run.sh" ] || { echo "run_vm_systemd: $J/run.sh missing or not executable" >&2; exit 125; }
rm -f "$J/exitcode" "$J/console.log"
# systemd.run= is the job; the guest powers off after it whatever its status.
CMDLINE="console=ttyS0 panic=-1 quiet loglevel=3 systemd.show_status=0 rw"
CMDLINE+=" systemd.run=/job/run.sh systemd.run_success_action=poweroff systemd.run_failure_action=poweroff"
ARGS=(-nodefaults -no-user-config -display none -no-reboot -m "$MEM" -smp "$CPUS"
  -accel tcg,thread=multi -cpu max -serial stdio -kernel "$K/vmlinuz" -initrd "$INITRD"
  -fsdev "local,id=rf,path=$R,security_model=none,readonly=on,multidevs=remap"
  -device virtio-9p-pci,fsdev=rf,mount_tag=rootfs
  -fsdev "local,id=md,path=$K/modules/$KV,security_model=none,readonly=on"
  -device virtio-9p-pci,fsdev=md,mount_tag=mods
  -fsdev "local,id=jb,path=$J,security_model=none" -device virtio-9p-pci,fsdev=jb,mount_tag=job
  -append "$CMDLINE")
T0=$(date +%s)
set +e
# nice: other tests share the machine's two cores.
timeout --foreground -k 5 "$TMO" nice -n 10 qemu-system-x86_64 "${ARGS[@]}" < /dev/null > "$J/console.log" 2>&1
qrc=$?
set -e
echo "run_vm_systemd: qemu exited $qrc after $(( $(date +%s) - T0 )) s"
if [ -f "$J/exitcode" ]; then exit "$(cat "$J/exitcode")"; fi
[ "$qrc" = 124 ] && echo "run_vm_systemd: guest timed out after ${TMO} s" >&2
echo "run_vm_systemd: no exit code from the guest; last console lines:" >&2
tail -20 "$J/console.log" >&2
exit 125
