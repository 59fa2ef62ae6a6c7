#!/bin/bash
# Build the pmiprouter .deb from a staged copy of the tree (nothing lands in the checkout),
# check its file list and conffiles, and run lintian on the .changes.
#
# Usage: tools/deb/build_deb.sh [SRCDIR]       (default: this checkout)
# Env:   DEB_CACHE (default SRCDIR/.cache/deb)
# Out:   $DEB_CACHE/out/{pmiprouter_VER_all.deb,.changes,.buildinfo,lintian.txt,build.log}
# Exit:  non-zero on a build failure, a missing file in the package, or a lintian error.
set -euo pipefail
# Debian's own toolchain only: a pyenv or venv python3 earlier in PATH must not build the package.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8
unset PYTHONPATH PYTHONHOME VIRTUAL_ENV PYENV_VERSION DEB_BUILD_OPTIONS 2>/dev/null || true
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "${1:-$HERE/../..}" && pwd)
CACHE=${DEB_CACHE:-$(cd "$HERE/../.." && pwd)/.cache/deb}
die() { echo "build_deb: $*" >&2; exit 1; }
for tool in dpkg-buildpackage dpkg-checkbuilddeps dpkg-parsechangelog lintian tar; do
  command -v "$tool" >/dev/null || die "missing $tool (make apt installs dpkg-dev, debhelper, dh-python, lintian)"
done
mkdir -p "$CACHE"
[ -f "$(dirname "$CACHE")/.gitignore" ] || echo '*' > "$(dirname "$CACHE")/.gitignore"   # .cache/ stays out of git
VER=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
PYVER=$(sed -n "s/^__version__ = '\(.*\)'/\1/p" "$SRC/pmiprouter/__init__.py")
[ "$VER" = "$PYVER" ] || die "debian/changelog says $VER but pmiprouter/__init__.py says $PYVER"
STAGE="$CACHE/build"; OUT="$CACHE/out"
rm -rf "$STAGE"; mkdir -p "$STAGE/pmiprouter-$VER" "$OUT"
rm -f "$OUT"/pmiprouter_*
T0=$(date +%s.%N)
# The tree minus what is not source: VCS, venvs, caches, build and test artefacts.
tar -C "$SRC" -c --exclude=./.git --exclude=./.venv --exclude=./.venv-debian --exclude=./.cache \
    --exclude=./.pytest_cache --exclude=./.hypothesis --exclude=./.benchmarks --exclude=./build \
    --exclude=./.pybuild --exclude=__pycache__ --exclude='*.egg-info' --exclude='*.pcap' --exclude='*.pyc' . \
  | tar -C "$STAGE/pmiprouter-$VER" -x
cd "$STAGE/pmiprouter-$VER"
dpkg-checkbuilddeps || die "build dependencies missing (make apt installs them)"
echo "build_deb: dpkg-buildpackage -us -uc -b in $STAGE/pmiprouter-$VER"
if ! nice -n 5 dpkg-buildpackage -us -uc -b > "$OUT/build.log" 2>&1; then
  tail -40 "$OUT/build.log" >&2; die "dpkg-buildpackage failed (full log: $OUT/build.log)"
fi
T1=$(date +%s.%N)
cp "$STAGE"/pmiprouter_"$VER"_all.deb "$STAGE"/pmiprouter_"$VER"_*.changes "$STAGE"/pmiprouter_"$VER"_*.buildinfo "$OUT/"
DEB="$OUT/pmiprouter_${VER}_all.deb"

# The installed file list: pybuild must have mapped cli/ to pmiprouter.cli (setup.py package_dir).
LIST=$(dpkg-deb -c "$DEB" | awk '{print $6}' | sed 's|^\./|/|')
D=/usr/lib/python3/dist-packages
missing=0
for f in /usr/bin/pmiprouter $D/pmiprouter/app.py $D/pmiprouter/cli/__init__.py $D/pmiprouter/cli/session.py \
         $D/pmiprouter/cli/frontends/ptk.py $D/pmiprouter/cli/handlers/pmip.py $D/pmiprouter/runtime/sdnotify.py \
         $D/pmiprouter/mh/iana.py /lib/systemd/system/pmiprouter.service /etc/pmiprouter/startup-config \
         /etc/default/pmiprouter /usr/share/man/man1/pmiprouter.1.gz /usr/share/doc/pmiprouter/copyright \
         /usr/share/doc/pmiprouter/examples/lma.example.conf; do
  grep -qx -- "$f" <<<"$LIST" || { echo "build_deb: $f is not in the package" >&2; missing=1; }
done
if grep -E "^$D/(cli|tests)/|^$D/[^/]*\.egg-info/(.*)?tests" <<<"$LIST"; then
  echo "build_deb: stray top-level package in dist-packages (above)" >&2; missing=1
fi
CONFFILES=$(dpkg-deb -I "$DEB" conffiles)
for c in /etc/pmiprouter/startup-config /etc/default/pmiprouter; do
  grep -qx "$c" <<<"$CONFFILES" || { echo "build_deb: $c is not a conffile" >&2; missing=1; }
done
[ "$missing" = 0 ] || die "the package's file list is wrong (dpkg-deb -c $DEB)"
echo "build_deb: $(wc -l <<<"$LIST") paths; cli/ installed as pmiprouter.cli; conffiles: $(echo $CONFFILES)"
dpkg-deb -f "$DEB" Depends | sed 's/^/build_deb: Depends: /'

# lintian: errors fail the build; warnings and info are printed (the kept ones are listed,
# with reasons, in docs/packaging.md).
set +e
lintian --info --display-info --pedantic --show-overrides --fail-on error "$OUT"/pmiprouter_"$VER"_*.changes > "$OUT/lintian.txt" 2>&1
lrc=$?
set -e
T2=$(date +%s.%N)
echo "build_deb: lintian (exit $lrc):"; grep -E '^[EWIPXO]: ' "$OUT/lintian.txt" | sed 's/^/  /' || echo "  (no tags)"
awk -v t0="$T0" -v t1="$T1" -v t2="$T2" \
  'BEGIN { printf "build_deb: timings: stage+dpkg-buildpackage %.1f s, lintian %.1f s\n", t1 - t0, t2 - t1 }'
rm -rf "$STAGE"
[ "$lrc" = 0 ] || die "lintian reports errors (see $OUT/lintian.txt)"
echo "build_deb: $DEB"
