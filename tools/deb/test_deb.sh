#!/bin/bash
# make test-deb: build the .deb (lintian-checked), then on a clean Debian 12 root booted with
# Debian's kernel under qemu (systemd as PID 1, no network device) install it with apt and check
# the service end to end: ready, cli, LMA sockets, reload, sandbox, upgrade, purge.
#
# Usage: tools/deb/test_deb.sh            (from anywhere; as root, else it skips with a reason)
# Env:   DEB_SRC (tree to build, default this checkout), DEB_CACHE (default .cache/deb), TESTBED_CACHE (default .cache/testbed; the kernel is
#        shared with tools/testbed/), VM_TIMEOUT (default 900 s), KEEP_JOB=1 keeps the job dir.
# Cached: the debootstrap root, the kernel, the initramfs, the dependencies' .debs; a second run
# spends its time on the build and the VM only.
set -euo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${DEB_CACHE:-$ROOT/.cache/deb}
KCACHE=${TESTBED_CACHE:-$ROOT/.cache/testbed}
die() { echo "test_deb: $*" >&2; exit 1; }
if [ "$(id -u)" != 0 ]; then
  echo "test_deb: SKIPPED: needs root (debootstrap, chroot apt for the dependencies, qemu with a 9p root)"
  exit 0
fi
for tool in qemu-system-x86_64 debootstrap dpkg-deb chroot flock; do
  command -v "$tool" >/dev/null || die "missing $tool (make apt installs it)"
done
mkdir -p "$CACHE" "$KCACHE"
[ -f "$ROOT/.cache/.gitignore" ] || echo '*' > "$ROOT/.cache/.gitignore"   # .cache/ stays out of git
exec 9> "$CACHE/.lock"
flock -w 1200 9 || die "another test_deb.sh holds $CACHE/.lock"
t() { date +%s.%N; }
dt() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
JOB=""
cleanup() {
  if [ -n "$JOB" ] && [ -z "${KEEP_JOB:-}" ]; then rm -rf "$JOB"; fi
}
trap cleanup EXIT

T0=$(t)
echo "== test_deb: build"
bash "$HERE/build_deb.sh" "${DEB_SRC:-$ROOT}"
DEB=$(ls "$CACHE"/out/pmiprouter_*_all.deb | head -1)
VER=$(dpkg-deb -f "$DEB" Version)
T1=$(t)

echo "== test_deb: kernel (tools/testbed/prepare_kernel.sh), Debian 12 root, initramfs"
bash "$ROOT/tools/testbed/prepare_kernel.sh" "$KCACHE/kernel"
bash "$HERE/make_rootfs.sh" "$CACHE/rootfs-bookworm"
bash "$HERE/make_initrd.sh" "$KCACHE/kernel" "$CACHE/initrd-systemd.cpio.gz"
T2=$(t)

# The guest has no network, and dpkg under TCG needs minutes for ~60 packages: check on the clean
# root what `apt install ./pmiprouter_*.deb` pulls (Debian's archive only), and give the VM a
# copy of that root with exactly those dependencies installed (cached until Depends change).
echo "== test_deb: dependencies (apt on the clean root)"
bash "$HERE/make_depsroot.sh" "$CACHE/rootfs-bookworm" "$CACHE/rootfs-deps" "$DEB"
R="$CACHE/rootfs-deps"
T3=$(t)

# The job: this .deb, a later version of it (same content, version +upgradetest1) for the
# upgrade check, the checks, the sandbox probe and the repository's codec-built PBU sender.
JOB=$(mktemp -d /tmp/pmip-debjob.XXXXXX)
cp "$DEB" "$JOB/"
mkdir -p "$JOB/upgrade" "$JOB/x"
dpkg-deb -R "$DEB" "$JOB/x"
sed -i "s/^Version: .*/Version: ${VER}+upgradetest1/" "$JOB/x/DEBIAN/control"
dpkg-deb -Zxz -z1 -b "$JOB/x" "$JOB/upgrade/pmiprouter_${VER}+upgradetest1_all.deb" > /dev/null
rm -rf "$JOB/x"
cp "$HERE/guest_checks.sh" "$JOB/run.sh"; chmod +x "$JOB/run.sh"
cp "$ROOT/debian/tests/smoke" "$JOB/smoke"
cp "$HERE/hardening_probe.py" "$HERE/pbu_once.py" "$ROOT/tests/integration/pbu_client.py" "$JOB/"

echo "== test_deb: boot Debian's kernel with systemd on the clean root (TCG; a few minutes)"
set +e
bash "$HERE/run_vm_systemd.sh" -t "${VM_TIMEOUT:-900}" "$KCACHE/kernel" "$CACHE/initrd-systemd.cpio.gz" "$R" "$JOB"
rc=$?
set -e
T4=$(t)
echo "--- guest output ($JOB/output.log):"
if [ -f "$JOB/output.log" ]; then sed 's/^/  /' "$JOB/output.log"; else echo "  (none)"; tail -30 "$JOB/console.log" 2>/dev/null; fi
echo "test_deb: timings: build+lintian $(dt "$T0" "$T1") s, kernel/root/initramfs $(dt "$T1" "$T2") s," \
     "dependencies $(dt "$T2" "$T3") s, VM (boot, install, checks, purge, power-off) $(dt "$T3" "$T4") s," \
     "total $(dt "$T0" "$T4") s"
[ "$rc" = 0 ] || die "FAIL: the install test failed in the guest (status $rc)"
echo "test_deb: PASS"
