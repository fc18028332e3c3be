# SPDX-License-Identifier: Apache-2.0
# tests/soak/: `make soak`, long runs without leaks (issue 11): 10000 boots
# of each small guest back to back, 100000 API requests and 100000 vsock
# streams each way on running embers, with fds, threads and RSS sampled.
# SOAK_QUICK=1 for the quick sizes (about half a minute; also run by
# tests/integration/test_soak_quick.sh), SOAK_SCALE=F to scale the sizes.
# Results: bench/results/soak-<date>/ (summary.txt, results.json).
# Included by the top Makefile; tests/soak/soak.sh documents the rest.

SOAK_QUICK ?= 0
SOAK_SCALE ?= 1

.PHONY: soak
soak: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)O=$(O) SOAK_QUICK=$(SOAK_QUICK) SOAK_SCALE=$(SOAK_SCALE) tests/soak/soak.sh
