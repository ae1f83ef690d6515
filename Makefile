# The two commands of the README: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
VENV := .venv
PYTEST := $(VENV)/bin/pytest
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.build/collections
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: deps demo test unit integration guest sanity lint clean

deps:
	@bash scripts/bootstrap.sh

demo: deps
	@bash scripts/demo.sh

unit: deps
	$(PYTEST) -q tests/unit

integration: deps
	$(PYTEST) -q tests/integration

test: deps
	$(PYTEST) -q tests/unit tests/integration

sanity: deps
	@bash scripts/sanity.sh

lint: deps
	cd $(CURDIR) && $(VENV)/bin/ansible-lint --offline plugins roles docs 2>/dev/null || $(VENV)/bin/ansible-lint --offline

clean:
	rm -rf .build tests/output
