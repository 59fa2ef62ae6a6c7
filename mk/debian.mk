# Debian packaging (issue #9): `make deb` builds the .deb from a staged copy of the tree and runs
# lintian; `make test-deb` (part of `make test`) also installs it with apt on a clean Debian 12
# root booted with Debian's kernel under qemu (systemd as PID 1) and checks the service.
# Included by the Makefile (-include mk/*.mk). Caches live in .cache/deb/ (git-ignored there).

# Build tools, lintian, debootstrap; qemu, busybox-static, cpio and kmod come with mk/dataplane.mk
# and are listed again so this file stands alone.
APT_TOOLS += dpkg-dev debhelper dh-python pybuild-plugin-pyproject python3-all python3-setuptools \
             python3-wheel lintian debootstrap qemu-system-x86 busybox-static cpio kmod

EXTRA_TESTS += test-deb

.PHONY: deb test-deb

deb: apt
	bash tools/deb/build_deb.sh

test-deb: apt
	bash tools/deb/test_deb.sh
