#!/bin/bash
# Boot the prepared Debian kernel under QEMU (TCG), run JOBDIR/run.sh inside the guest with the
# host's / as its root (read-only 9p + tmpfs overlay), power off, and exit with run.sh's status.
#
# Usage: run_vm.sh [-t TIMEOUT_S] [-m MB] [-c CPUS] [-i SHIFT] KWORK JOBDIR
#   -i SHIFT  count instructions (-icount): the guest's clock advances 2^SHIFT ns per instruction
#             while it runs, whatever the host's load (single-threaded TCG, slower): for benchmarks
#   KWORK   output of prepare_kernel.sh
#   JOBDIR  holds run.sh; mounted read-write at /job; receives console.log and exitcode.
# The guest has no network device at all: nothing it does can leave this machine.
# Exit: the guest's status; 125 if the guest gave none (timeout, crash, boot failure).
set -u
TMO=420; MEM=1024; CPUS=2; ACCEL=(-accel tcg,thread=multi)
while getopts "t:m:c:i:" o; do case $o in
  t) TMO=$OPTARG;; m) MEM=$OPTARG;; c) CPUS=$OPTARG;;
  i) ACCEL=(-accel tcg,thread=single -icount "shift=$OPTARG,align=off,sleep=on");;
  *) echo "usage: $0 [-t s] [-m MB] [-c n] [-i shift] KWORK JOBDIR" >&2; exit 2;; esac; done
shift $((OPTIND-1))
K=$(cd "${1:?KWORK}" && pwd); J=$(cd "${2:?JOBDIR}" && pwd)
KV=$(cat "$K/kver")
command -v qemu-system-x86_64 >/dev/null || { echo "run_vm: qemu-system-x86_64 missing (apt-get install qemu-system-x86)" >&2; exit 125; }
rm -f "$J/exitcode" "$J/console.log"
ARGS=(-nodefaults -no-user-config -display none -no-reboot -m "$MEM" -smp "$CPUS"
  "${ACCEL[@]}" -cpu max -serial stdio -kernel "$K/vmlinuz" -initrd "$K/initrd.cpio.gz"
  -fsdev local,id=hr,path=/,security_model=none,readonly=on,multidevs=remap
  -device virtio-9p-pci,fsdev=hr,mount_tag=hostroot
  -fsdev "local,id=md,path=$K/modules/$KV,security_model=none,readonly=on"
  -device virtio-9p-pci,fsdev=md,mount_tag=mods
  -fsdev "local,id=jb,path=$J,security_model=none" -device virtio-9p-pci,fsdev=jb,mount_tag=job
  -append "console=ttyS0 panic=-1 quiet loglevel=3")
T0=$(date +%s)
timeout --foreground -k 5 "$TMO" qemu-system-x86_64 "${ARGS[@]}" < /dev/null 2>&1 \
  | tee "$J/console.log" | sed -u 's/^/[guest] /'
qrc=${PIPESTATUS[0]}
echo "@@HOST qemu rc=$qrc after $(( $(date +%s) - T0 ))s"
if [ -f "$J/exitcode" ]; then exit "$(cat "$J/exitcode")"; fi
[ "$qrc" = 124 ] && echo "@@HOST guest timed out after ${TMO}s" >&2
echo "@@HOST no exit code from guest (qemu rc=$qrc)" >&2
exit 125
