# Two entry points that work on a fresh machine with only Python and make.
#
#   make test                                     lint + mypy + pytest on python3, in .venv
#   make test PYTHON=python3.10 VENV=.venv-3.10   the same on another interpreter
#   make test-all                                 every supported interpreter found (as CI does)
#   make lock                                     refresh constraints/py3.X.txt (see below)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

# Supported interpreters; keep in step with the classifiers in pyproject.toml and the README.
SUPPORTED_PYTHONS := 3.10 3.11 3.12 3.13

# The dev toolchain is locked per Python version: constraints/py3.X.txt pins every dev and test
# dependency (numpy, mypy, ruff, pytest, hypothesis, ...) so CI results change only when we change
# something. pyproject.toml keeps the library's ranges loose for users; the lock only constrains
# what `make` installs. mypy runs against the *locked* numpy of each interpreter (2.2 on 3.10, which
# numpy 2.3+ dropped; the newest on the others) instead of against every numpy the `numpy>=1.24`
# range allows: numpy's stubs change shape between releases, a matrix of them is not something a
# user's checker sees (they type-check against their own numpy), and the four locks already cover
# the oldest and newest stubs we support. mypy also targets the running interpreter
# (--python-version), not a fixed 3.10: numpy 2.3+ stubs are not written for 3.10, and checking
# them as 3.10 reports errors no user on 3.12 would see (and hides version-specific branches).
# Refresh with `make lock` (needs network), then run `make test-all` and commit constraints/
# together with whatever the new versions required.
PYVER       := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
CONSTRAINTS := constraints/py$(PYVER).txt
ifneq ($(wildcard $(CONSTRAINTS)),)
PIP_CONSTRAINT_ARGS := -c $(CONSTRAINTS)
else
PIP_CONSTRAINT_ARGS :=
endif
UV_VERSION := 0.13.9
UV         := $(VENV)/bin/uv

.PHONY: demo test test-all lint typecheck unit bench docs lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-dev: pyproject.toml $(wildcard $(CONSTRAINTS)) | $(BIN)/python
	@test -n "$(PIP_CONSTRAINT_ARGS)" || echo "warning: no $(CONSTRAINTS) (Python $(PYVER) is not in SUPPORTED_PYTHONS); installing unpinned dev tools" >&2
	$(BIN)/python -m pip install --quiet $(PIP_CONSTRAINT_ARGS) -e '.[dev]'
	touch $@

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[anyio,trio]'
	touch $@

demo: $(VENV)/.installed-demo
	$(BIN)/oairt demo

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy --python-version $(PYVER)

unit: $(VENV)/.installed-dev
	$(BIN)/pytest -q

test: lint typecheck unit

# Runs `make test` on every supported interpreter found (pyenv's too), one venv each.
test-all:
	./.ci/run

# uv resolves for a target Python version without that interpreter being installed.
$(UV): | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)

lock: $(UV)
	@mkdir -p constraints
	for v in $(SUPPORTED_PYTHONS); do \
	  $(UV) pip compile --quiet --upgrade --native-tls pyproject.toml --extra dev \
	    --python-version $$v --custom-compile-command 'make lock' \
	    --output-file constraints/py$$v.txt || exit 1; \
	done

docs: $(VENV)/.installed-dev
	$(BIN)/mkdocs build --strict --site-dir .site

bench: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .venv-3.* .site .mypy_cache .pytest_cache .ruff_cache
