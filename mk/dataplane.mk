# Dataplane (issue #6): the kernel backend's tests inside a Debian-kernel QEMU guest, and the
# userspace-vs-kernel forwarding benchmark. Included by the Makefile (-include mk/*.mk).

# qemu + the initramfs tools for tools/testbed/; ping for the real-traffic tests; trafgen
# (netsniff-ng: C, TX_RING) is bench-dataplane-vm's traffic generator.
APT_TOOLS += qemu-system-x86 busybox-static cpio kmod iputils-ping netsniff-ng

EXTRA_TESTS += test-kernel-vm

.PHONY: test-kernel-vm bench-dataplane bench-dataplane-vm

# Boots once, runs pytest -m needs_kernel_tunnels with .venv and .venv-debian in the guest and
# exits with their status. The kernel work dir is cached in .cache/testbed/ (git-ignored there).
test-kernel-vm: $(VENV_STAMP) $(VENV_DEB_STAMP)
	bash tools/testbed/kernel_vm_test.sh

bench-dataplane: $(VENV_STAMP)
	$(VENV)/bin/python bench/bench_dataplane.py

# The kernel backend's forwarding at 10 and 100,000 bindings, with the user-space backend, the
# generator alone and plain kernel forwarding, in the guest (tools/testbed/bench_vm.sh: its
# clock counts instructions, so the figures hold on a loaded host). About 9 min of wall clock.
bench-dataplane-vm: $(VENV_STAMP) | apt
	bash tools/testbed/bench_vm.sh
