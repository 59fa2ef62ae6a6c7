# Dataplane (issue #6): the kernel backend's tests inside a Debian-kernel QEMU guest, and the
# userspace-vs-kernel forwarding benchmark. Included by the Makefile (-include mk/*.mk).

# qemu + the initramfs tools for tools/testbed/; ping for the real-traffic tests.
APT_TOOLS += qemu-system-x86 busybox-static cpio kmod iputils-ping

EXTRA_TESTS += test-kernel-vm

.PHONY: test-kernel-vm bench-dataplane

# Boots once, runs pytest -m needs_kernel_tunnels with .venv and .venv-debian in the guest and
# exits with their status. The kernel work dir is cached in .cache/testbed/ (git-ignored there).
test-kernel-vm: $(VENV_STAMP) $(VENV_DEB_STAMP)
	bash tools/testbed/kernel_vm_test.sh

bench-dataplane: $(VENV_STAMP)
	$(VENV)/bin/python bench/bench_dataplane.py
