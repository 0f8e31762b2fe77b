# The two commands of the README: `make run` and `make test`. Both set up what they
# need first (tools/bootstrap.sh), so a fresh clone needs nothing else.

VENV := .venv
STAMP := $(VENV)/.nova-tx-installed
INSTALL_INPUTS := setup.py pyproject.toml requirements.txt tools/bootstrap.sh \
	$(wildcard _speedups/*.pyx _speedups/*.pxd)

.PHONY: run test venv sample-config lint clean

run: $(STAMP)
	$(VENV)/bin/nova-allinone

test: $(STAMP)
	@tools/run_tests.sh $(TESTS)

venv: $(STAMP)

$(STAMP): $(INSTALL_INPUTS)
	@tools/bootstrap.sh
	@touch $@

# Regenerate etc/nova/nova.conf.sample after changing an option (a test fails while
# the committed sample is stale).
sample-config: $(STAMP)
	$(VENV)/bin/oslo-config-generator --config-file etc/nova/nova-config-generator.conf

lint: $(STAMP)
	$(VENV)/bin/ruff check nova_tx tests plugins twisted benchmarks

clean:
	rm -rf build _trial_temp* nova_tx/_speedups/*.so _speedups/*.c
