#!/bin/bash
# make test-kernel-vm: run the kernel-backend tests (pytest -m needs_kernel_tunnels) inside a
# Debian-kernel QEMU guest, once with each venv (.venv: PyPI's pyroute2; .venv-debian: Debian
# 12's pyroute2 0.7.2), and exit with their combined status.
#
# Usage: tools/testbed/kernel_vm_test.sh [extra pytest args]   (from the repository root, as root)
# Env: TESTBED_CACHE (default .cache/testbed), VM_TIMEOUT (default 420 s).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/tools/testbed"
CACHE=${TESTBED_CACHE:-$ROOT/.cache/testbed}
[ "$(id -u)" = 0 ] || { echo "kernel_vm_test: needs root (netns and tunnels in the guest)" >&2; exit 1; }
mkdir -p "$CACHE"
# Keep the cache out of git without touching the top-level .gitignore.
[ -f "$ROOT/.cache/.gitignore" ] || echo '*' > "$ROOT/.cache/.gitignore"
bash "$HERE/prepare_kernel.sh" "$CACHE/kernel" || { echo "kernel_vm_test: kernel preparation failed" >&2; exit 1; }
JOB=$(mktemp -d /tmp/pmip-vmjob.XXXXXX)
trap 'rm -rf "$JOB"' EXIT
PYTEST_EXTRA=$(printf ' %q' "$@")
cat > "$JOB/run.sh" <<EOS
set -u
cd $(printf %q "$ROOT")
modprobe tun 2>/dev/null
echo "guest kernel \$(uname -r)"
rc=0
for venv in .venv .venv-debian; do
  [ -x "\$venv/bin/python" ] || { echo "@@ missing \$venv"; rc=1; continue; }
  echo "@@ pytest with \$venv (pyroute2 \$(\$venv/bin/python -c 'import pyroute2; print(getattr(pyroute2, "__version__", "?"))'))"
  \$venv/bin/python -m pytest -q -p no:cacheprovider -m needs_kernel_tunnels -o addopts='-ra --strict-markers' \
     tests/dataplane$PYTEST_EXTRA || rc=1
done
exit \$rc
EOS
bash "$HERE/run_vm.sh" -t "${VM_TIMEOUT:-420}" "$CACHE/kernel" "$JOB"
rc=$?
echo "kernel_vm_test: guest status $rc"
exit $rc
