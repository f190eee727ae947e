# sysprobe — two commands do all set-up on a fresh Debian machine:
#   make demo    trace a small real program and show what it did
#   make test    run the test suite
# Both create .venv, install sysprobe (its parser compiled with mypyc) and, when missing,
# strace and a C compiler (with apt-get; as root, or through sudo).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The modules mypyc compiles (setup.py lists them): editing one means rebuilding.
COMPILED := $(shell $(PYTHON) -c 'import ast; t = ast.parse(open("setup.py").read()); \
	print(*(f"src/sysprobe/{n}.py" for a in t.body if isinstance(a, ast.Assign) and getattr(a.targets[0], "id", "") == "COMPILED" \
	for n in ast.literal_eval(a.value)))')
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: demo test lint bench deps system-deps test-deps clean mutate flake-check leak-hunt

demo: deps
	@mkdir -p build/demo
	cc -O1 -o build/demo/pipe_leak examples/pipe_leak.c
	@echo '$$ sysprobe trace -- build/demo/pipe_leak'
	@$(VENV)/bin/sysprobe trace -- build/demo/pipe_leak
	@echo
	@echo '$$ sysprobe check --no-fd-leaks --cloexec openat -- build/demo/pipe_leak'
	@$(VENV)/bin/sysprobe check --no-fd-leaks --cloexec openat -- build/demo/pipe_leak \
		|| echo "(exit $$?: the pipe made without O_CLOEXEC leaked into true)"

# --sysprobe-require: a missing strace or a denied ptrace fails the tests instead of skipping.
# --cov: line coverage of sysprobe, failing under pyproject's fail_under (README: Development).
# pytest imports sysprobe's plugin, and the modules it imports, before pytest-cov starts
# measuring: a collection under `coverage run` records those import-time lines first.
test: deps test-deps
	rm -f .coverage .coverage.*
	$(PY) -m coverage run -m pytest -q --collect-only -p no:cacheprovider $(PYTEST_ARGS) >/dev/null
	$(PY) -m pytest -q -n 2 --sysprobe-require --cov --cov-append $(PYTEST_ARGS)

lint: deps
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m ruff format --check src tests benchmarks
	$(PY) -m mypy

# The targets (each ratio with "met" or "MISSED") and parse throughput, a few minutes;
# BENCH_ARGS=--all adds the workloads, placement and memory tables (about 15 minutes more).
BENCH_ARGS ?=
bench: deps
	$(PY) benchmarks/run.py $(BENCH_ARGS)

# pytest --sysprobe-leaks on real suites from PyPI (psutil's, ptyprocess's): downloads their
# sdists, installs them into .venv, times each suite untraced and traced (a few minutes;
# not part of `make test`). README: "Leak hunting".
leak-hunt: deps
	$(PY) benchmarks/leak_hunt.py

# Mutation testing (mutmut) of the model, the rules and patterns, the golden renderer and
# the runner's exit status, in build/mutate (interpreted sources): score and survivors in
# MUTATION.md. MUTANTS='sysprobe._rules.*' narrows it; scope: tests/mutate.py, pyproject.
MUTANTS ?=
mutate: deps test-deps
	$(PY) tests/mutate.py $(MUTANTS)

# The whole suite RUNS times under load (-n 4 on this machine's cores): a tally of failures.
RUNS ?= 20
flake-check: deps test-deps
	RUNS=$(RUNS) PY=$(PY) sh tests/flake_check.sh

deps: system-deps $(STAMP)

# nginx for the sendfile tests, Go for the ExtraFiles tests: best effort (they skip, saying
# why, where they cannot be had; the Go tests fail instead under --sysprobe-require).
test-deps:
	@[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nginx-light; } \
		|| echo "note: nginx could not be installed; its tests will be skipped"
	@# Go and Node for the goldens of real runtimes and Go's ExtraFiles (tests/golden,
	@# tests/model/test_passes.py): under
	@# --sysprobe-require (make test, CI) those tests fail, not skip, where these are missing.
	@missing=""; \
	command -v go >/dev/null 2>&1 || missing="$$missing golang-go"; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# apt-get only when something is missing, so a prepared machine never needs root.
system-deps:
	@missing=""; \
	command -v strace >/dev/null 2>&1 || missing="$$missing strace"; \
	command -v cc >/dev/null 2>&1 || missing="$$missing gcc libc6-dev"; \
	$(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	$(PYTHON) -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
		|| missing="$$missing python3-dev"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml setup.py Makefile $(COMPILED)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --upgrade setuptools wheel 'mypy==2.4.1'
	@# a module dropped from COMPILED must not leave its old .so shadowing the source
	find src -name '*.so' -delete
	$(PY) -m pip install -q --no-build-isolation -e '.[dev]'
	@touch $(STAMP)

clean:
	rm -rf build $(VENV) .pytest_cache .mypy_cache
	find src -name "*.so" -delete
