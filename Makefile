# The two commands of the README: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
VENV := .venv
PYTEST := $(VENV)/bin/pytest
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.build/collections
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: deps demo test unit integration integration-52 sanity lint bench molecule clean

deps:
	@bash scripts/bootstrap.sh

demo: deps
	@bash scripts/demo.sh

unit: deps
	$(PYTEST) -q tests/unit

# The connection-management suites again with Libreswan 5.2 (Debian 13's package, fetched by
# scripts/fetch-libreswan-5.2.sh) on every lab host.
SUITES_52 := tests/integration/test_ipsec_connection.py tests/integration/test_ipsec_connection_definition.py \
	tests/integration/test_ipsec_connections.py tests/integration/test_libreswan52.py

integration: deps
	$(PYTEST) -q tests/integration
	LAB_LIBRESWAN=5.2 $(PYTEST) -q $(SUITES_52)

integration-52: deps
	LAB_LIBRESWAN=5.2 $(PYTEST) -q $(SUITES_52)

test: deps
	$(PYTEST) -q tests/unit tests/integration
	LAB_LIBRESWAN=5.2 $(PYTEST) -q $(SUITES_52)

sanity: deps
	@bash scripts/sanity.sh

bench: deps
	$(VENV)/bin/python benchmarks/run_all.py

molecule: deps
	$(VENV)/bin/pip install -q -r tests/requirements-molecule.txt
	$(VENV)/bin/molecule test -s default

lint: deps
	@bash scripts/sanity.sh --lint-only

clean:
	rm -rf .build tests/output
