# observability-workbench. Everything installs into .venv/ at the repo root.
VENV   := .venv
PY     := $(VENV)/bin/python
WB     := $(VENV)/bin/workbench
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=
# One rerun, only for a Jupyter kernel that hung or died (a known intermittent fault on a busy
# machine, see docs/reports.md); every rerun is listed in the summary ("N rerun").
RERUN  := --reruns 1 --only-rerun "Timeout \(>" --only-rerun DeadKernelError --only-rerun CellTimeoutError

.DEFAULT_GOAL := help
.PHONY: help install check test test-fast demo demo-down bench lab lint

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: $(STAMP)  ## Install server binaries (apt, as root), the venv and the package

$(STAMP): pyproject.toml scripts/bootstrap.sh
	@bash scripts/bootstrap.sh

test: install  ## Run the whole test suite (starts real servers on 127.0.0.1)
	$(PY) -m pytest $(RERUN) $(PYTEST_ARGS)

lint: install  ## ruff
	$(VENV)/bin/ruff check .

check: install  ## ruff, the import contract, mypy and the doctests (CI runs this before the tests)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(PY) -m pytest -q -p no:cacheprovider --doctest-modules workbench --ignore=workbench/notebooks

test-fast: install  ## The tests that start no server, kernel or browser (about a minute)
	$(PY) -m pytest -m "not server and not slow" $(PYTEST_ARGS)

demo: install  ## Start the demo stack and write every report to reports/
	$(WB) demo up
	$(WB) report run-all --out reports
	@$(WB) demo status
	@echo "Reports: reports/index.html   JupyterLab on the same stack: make lab"

demo-down: install  ## Stop the demo stack
	$(WB) demo down

bench: install  ## Benchmarks against the peers, printed as ratios
	$(PY) -m benchmarks

lab: install  ## JupyterLab on notebooks/ (uses the demo stack when it runs)
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --ip=127.0.0.1 --no-browser \
		$$( [ "$$(id -u)" = 0 ] && echo --allow-root )
