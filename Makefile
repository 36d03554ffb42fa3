# Two commands for a fresh machine:
#   make          set everything up (virtual environment included), then run the main job
#   make test     run the test suite once per Keras backend, each in its own process
# Also: make setup, make smoke, make compare ARGS="--seeds 3", make test BACKENDS=jax
#       make docs   the documentation site, built offline into site/

PYTHON ?= python3
VENV ?= .venv
BACKENDS ?= tensorflow jax torch
ARGS ?=
# One worker per core, at most four (each holds a backend and its models: 2-4 GB);
# a test module stays on one worker, so its shared fixtures are built once.
PYTEST_WORKERS ?= -n auto --maxprocesses 4 --dist loadfile
PY := $(VENV)/bin/python

.PHONY: all compare docs smoke setup test
all: compare

$(VENV)/.installed: pyproject.toml setup.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	. $(VENV)/bin/activate && bash setup.sh
	touch $@

setup: $(VENV)/.installed

compare: setup
	$(PY) -m keras_transfer compare $(ARGS)

docs: setup
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site

smoke: setup
	$(PY) -m keras_transfer compare --smoke --overwrite --out comparison_smoke $(ARGS)

test: setup
	@status=0; for backend in $(BACKENDS); do \
	  echo "=== KERAS_BACKEND=$$backend"; start=$$(date +%s); \
	  KERAS_BACKEND=$$backend KERAS_TRANSFER_TEST_CACHE=$(CURDIR)/.test_cache \
	    $(PY) -m pytest -q -p no:cacheprovider $(PYTEST_WORKERS); rc=$$?; \
	  echo "=== KERAS_BACKEND=$$backend: exit $$rc in $$(( $$(date +%s) - start )) s"; \
	  [ $$rc -eq 0 ] || status=1; \
	done; exit $$status
