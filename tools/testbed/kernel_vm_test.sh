#!/bin/bash
# make test-kernel-vm: run the kernel-backend tests (pytest -m needs_kernel_tunnels) inside a
# Debian-kernel QEMU guest and exit with the combined status: the whole set with .venv (PyPI's
# pyroute2), and the behavioural suite -- every netlink call the kernel backend makes -- with
# .venv-debian (Debian 12's pyroute2 0.7.2). The traffic tests are not repeated there: the
# netlink API is the only thing that differs, and TCG makes each run cost minutes.
#
# Usage: tools/testbed/kernel_vm_test.sh [extra pytest args]   (from the repository root, as root)
# Env: TESTBED_CACHE (default .cache/testbed), VM_TIMEOUT (default 900 s).
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
PYTEST_EXTRA=; [ $# -gt 0 ] && PYTEST_EXTRA=$(printf " %q" "$@")
cat > "$JOB/run.sh" <<EOS
set -u
cd $(printf %q "$ROOT")
modprobe tun 2>/dev/null
echo "guest kernel \$(uname -r)"
rc=0
for job in ".venv tests/dataplane" ".venv-debian tests/dataplane/test_behaviour.py"; do
  set -- \$job; venv=\$1; tests=\$2
  [ -x "\$venv/bin/python" ] || { echo "@@ missing \$venv"; rc=1; continue; }
  echo "@@ pytest \$tests with \$venv (pyroute2 \$(\$venv/bin/python -c 'from importlib.metadata import version; print(version("pyroute2"))'))"
  \$venv/bin/python -m pytest -q -p no:cacheprovider -m needs_kernel_tunnels -o addopts='-ra --strict-markers -v' -o faulthandler_timeout=120 \
     "\$tests"$PYTEST_EXTRA || rc=1
done
exit \$rc
EOS
bash "$HERE/run_vm.sh" -t "${VM_TIMEOUT:-900}" "$CACHE/kernel" "$JOB"
rc=$?
echo "kernel_vm_test: guest status $rc"
exit $rc
