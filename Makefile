# tracerd: `make run` runs the daemon on its embedded defaults; `make test` runs the checks.
# Both install what is missing first (apt packages, kernel headers, venv) and are fast
# when everything is there.
VENV := .venv
PY := $(VENV)/bin/python
SOURCES := service tests scripts migrations bench
PYTEST_ARGS ?=
export GUEST

.PHONY: run test setup lint unit host-tests guest-tests openapi lock

run:
	scripts/setup.sh run
	$(VENV)/bin/tracerd db upgrade
	exec $(VENV)/bin/tracerd serve

setup:
	scripts/setup.sh test

lint: setup
	$(VENV)/bin/ruff format --check $(SOURCES)
	$(VENV)/bin/ruff check $(SOURCES)
	$(VENV)/bin/mypy

host-tests: setup
	$(PY) -m pytest --require-kernel $(PYTEST_ARGS)

# tests/guest under Debian's stock 6.1 kernel in QEMU (image built on first use, cached in
# /var/cache/tracerd-guest); GUEST=0 skips it locally (refused when CI=true)
guest-tests: setup
	scripts/guest/tier.sh

test: lint host-tests guest-tests

openapi:
	$(PY) scripts/openapi.py openapi.yaml

lock:
	$(VENV)/bin/pip freeze --local --exclude-editable | grep -v '^#' > requirements.lock
