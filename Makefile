# pmiprouter — the two commands of the README, and the set-up they need.
#
#   make demo   set-up + the main job (the lab handover demo, when it lands)
#   make test   set-up + every test, on PyPI's current releases and on Debian 12's own versions
#
# Set-up is idempotent: apt runs only when a package is missing, and each venv is rebuilt
# only when setup.py changes, so a second run starts testing at once.

SHELL := /bin/bash
PYTHON ?= /usr/bin/python3
VENV := .venv
VENV_DEB := .venv-debian
PYTEST_ARGS ?=

# Debian packages the tests drive: tshark is the independent decoder of our MH encoding; iperf3
# is bench-dataplane's traffic generator (C, not the bottleneck of the user-space forwarder).
APT_TOOLS := python3-venv python3-pip iproute2 tshark tmux udhcpc dnsmasq-base isc-dhcp-client iperf3
# Debian 12's own library versions: the code must run on these too (see README).
APT_PYLIBS := python3-twisted python3-pyroute2 python3-prompt-toolkit python3-openssl \
              python3-cryptography python3-bcrypt python3-pyasn1 \
              python3-pytest python3-hypothesis python3-setuptools

SETUP_HASH := $(shell sha1sum setup.py | cut -c1-12)
VENV_STAMP := $(VENV)/.installed-$(SETUP_HASH)
VENV_DEB_STAMP := $(VENV_DEB)/.installed-$(SETUP_HASH)

.PHONY: all setup apt test test-pypi test-debian bench demo clean

all: test

apt:
	@missing=$$(for p in $(APT_TOOLS) $(APT_PYLIBS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "apt: installing" $$missing; \
	    [ "$$(id -u)" = 0 ] || { echo "apt: need root to install: $$missing" >&2; exit 1; }; \
	    echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(VENV_STAMP): setup.py | apt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip setuptools wheel
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

# Debian 12's libraries from apt; only our own package is installed into the venv.
$(VENV_DEB_STAMP): setup.py | apt
	rm -rf $(VENV_DEB)
	$(PYTHON) -m venv --system-site-packages $(VENV_DEB)
	$(VENV_DEB)/bin/pip install -q --no-deps --no-build-isolation -e .
	touch $@

setup: apt $(VENV_STAMP) $(VENV_DEB_STAMP)

# Other parts of the build add their own test targets (EXTRA_TESTS) and apt needs in mk/*.mk.
EXTRA_TESTS :=
-include mk/*.mk

# The VM tests (mk/*.mk: Debian's kernel and the .deb under qemu, one core) run in the
# background while both pytest runs use the other core, one after the other; the VM log is
# printed when everything has ended, then each part's summary line, so CI reads them last.
# Every part runs even when an earlier one fails; the status sums them up.
test: setup
	@mkdir -p .cache; start=$$SECONDS; \
	$(MAKE) --no-print-directory $(EXTRA_TESTS) > .cache/vm-tests.log 2>&1 & vms=$$!; \
	echo "make test: VM tests ($(EXTRA_TESTS)) started in the background; log in .cache/vm-tests.log"; \
	$(MAKE) --no-print-directory test-debian 2>&1 | tee .cache/test-debian.log; debian=$${PIPESTATUS[0]}; \
	$(MAKE) --no-print-directory test-pypi 2>&1 | tee .cache/test-pypi.log; pypi=$${PIPESTATUS[0]}; \
	wait $$vms; vm=$$?; \
	echo "===== VM tests ($(EXTRA_TESTS)) ====="; cat .cache/vm-tests.log; \
	echo "===== summary ($$((SECONDS - start)) s) ====="; \
	echo "test-debian: $$(grep -E '^=*.* (passed|failed|error)' .cache/test-debian.log | tail -1)"; \
	echo "test-pypi:   $$(grep -E '^=*.* (passed|failed|error)' .cache/test-pypi.log | tail -1)"; \
	echo "VM tests:    $$(grep -E '(passed|failed)|test_deb: ' .cache/vm-tests.log | tail -3 | tr '\n' ' ')"; \
	echo "make test: test-debian status $$debian, VM tests status $$vm, test-pypi status $$pypi"; \
	[ $$debian = 0 ] && [ $$vm = 0 ] && [ $$pypi = 0 ]

test-pypi: $(VENV_STAMP)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

test-debian: $(VENV_DEB_STAMP)
	$(VENV_DEB)/bin/python -c 'from importlib.metadata import version as v; print("Debian 12 libraries:", *(f"{p} {v(p)}" for p in ("twisted", "pyroute2", "prompt-toolkit", "pyOpenSSL")))'
	$(VENV_DEB)/bin/python -m pytest -q -p no:cacheprovider -m 'not slow' $(PYTEST_ARGS)

bench: $(VENV_STAMP)
	$(VENV)/bin/python bench/bench_codec.py

# The lab: CN, LMA, two MAGs and three unmodified mobile nodes in network namespaces, and a
# measured handover of MN1 from MAG1 to MAG2 (root).
demo: setup
	$(VENV)/bin/pmiprouter lab demo

clean:
	rm -rf $(VENV) $(VENV_DEB) .pytest_cache build *.egg-info
