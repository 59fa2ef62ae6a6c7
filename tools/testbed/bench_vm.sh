#!/bin/bash
# make bench-dataplane-vm: bench/bench_dataplane.py with the kernel backend inside the Debian-kernel
# QEMU guest (TCG), the one place here with tunnel modules; by default the kernel and user-space
# backends at 10 and 100,000 bindings against the generator alone and plain kernel forwarding
# (the trafgen method, bench/trafgen_lab.py). Under TCG absolute rates are low: compare the ratios.
#
# The guest counts instructions (run_vm.sh -i, one vCPU: -icount hangs the boot of a second one):
# its clock advances 1 ns per instruction while it runs, so a rate is packets per 10^9 guest
# instructions whatever else the shared host does; measured on the wall clock (VM_ICOUNT=, two
# vCPUs) the same rates moved by a factor of two from one 2-second window to the next.
#
# Usage: tools/testbed/bench_vm.sh [bench_dataplane.py args]   (from the repository root, as root)
# Env: TESTBED_CACHE (default .cache/testbed), VM_TIMEOUT (default 7200 s), VM_MEM (default 2048 MB),
#      VM_ICOUNT (default 0: -icount shift; empty: multi-threaded TCG on the wall clock, 2 vCPUs).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/tools/testbed"
CACHE=${TESTBED_CACHE:-$ROOT/.cache/testbed}
[ "$(id -u)" = 0 ] || { echo "bench_vm: needs root (netns and tunnels in the guest)" >&2; exit 1; }
# The guest runs the host's userland: what it needs must be installed here.
for tool in trafgen ip; do
  command -v "$tool" >/dev/null || { echo "bench_vm: $tool missing (apt-get install netsniff-ng iproute2)" >&2; exit 1; }
done
[ -x "$ROOT/.venv/bin/python" ] || { echo "bench_vm: no .venv (make setup)" >&2; exit 1; }
mkdir -p "$CACHE"
[ -f "$ROOT/.cache/.gitignore" ] || echo '*' > "$ROOT/.cache/.gitignore"
bash "$HERE/prepare_kernel.sh" "$CACHE/kernel" || { echo "bench_vm: kernel preparation failed" >&2; exit 1; }
JOB=$(mktemp -d /tmp/pmip-vmbench.XXXXXX)
trap 'rm -rf "$JOB"' EXIT
[ $# -gt 0 ] || set -- --backend kernel userspace --bindings 10 100000 --runs 3 --seconds 1
cat > "$JOB/run.sh" <<EOS
set -u
cd $(printf %q "$ROOT")
modprobe tun 2>/dev/null
# What trafgen does itself outside a namespace (these are the initial namespace's, global): a
# larger socket buffer keeps its TX_RING flushes from failing with EAGAIN when the guest stalls.
sysctl -qw net.core.wmem_default=4194304 net.core.wmem_max=104857600
echo "guest kernel \$(uname -r), \$(nproc) CPUs"
.venv/bin/python bench/bench_dataplane.py$(printf " %q" "$@")
EOS
T0=$(date +%s)
ICOUNT=${VM_ICOUNT-0}
# Each line stamped with the host's wall clock (under -icount the guest's own clock is virtual).
bash "$HERE/run_vm.sh" -t "${VM_TIMEOUT:-7200}" -m "${VM_MEM:-2048}" ${ICOUNT:+-c 1 -i "$ICOUNT"} "$CACHE/kernel" "$JOB" \
  | while IFS= read -r line; do printf '%(%T)T %s\n' -1 "$line"; done
rc=${PIPESTATUS[0]}
echo "bench_vm: guest status $rc, $(( $(date +%s) - T0 )) s wall clock (boot included)"
exit $rc
