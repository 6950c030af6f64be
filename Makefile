# Mamori: `make run` starts the panel on SQLite; `make test` runs the whole suite.
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
MAMORI := $(BIN)/mamori
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-fast lint format messages bench venv clean

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || "$$(scripts/find-python)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

venv: $(VENV)/.installed

run: export MAMORI_DEBUG = 1
run: export MAMORI_BASE_URL = http://$(HOST):$(PORT)
run: venv
	@mkdir -p var/static var/mail
	$(MAMORI) migrate --noinput
	$(MAMORI) demo
	@echo "Panel: http://$(HOST):$(PORT)/demo/login/   (Ctrl-C stops the panel and the worker)"
	@trap 'kill 0' INT TERM EXIT; \
	  $(MAMORI) worker --interval 1 & \
	  $(MAMORI) runserver --noreload $(HOST):$(PORT)

test: venv
	$(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(MAMORI) check --fail-level WARNING
	$(MAMORI) makemigrations --check --dry-run
	$(PY) scripts/check-translations mamori/locale/ja/LC_MESSAGES/django.po
	@# the committed .mo must be the compiled .po
	msgfmt --check-format -o - mamori/locale/ja/LC_MESSAGES/django.po | cmp -s - mamori/locale/ja/LC_MESSAGES/django.mo \
	  || { echo "django.mo is stale: run 'make messages'"; exit 1; }

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Extract strings, then compile: both the .po and the .mo are committed, so a fresh machine
# needs no gettext to run the panel.
messages: venv
	cd mamori && ../$(MAMORI) makemessages -l ja --no-location --no-obsolete
	cd mamori && ../$(MAMORI) compilemessages -l ja

bench: venv
	$(PY) -m bench $(BENCH_ARGS)
	$(PY) -m bench.users
	$(PY) -m bench.users_import
	$(PY) -m bench.audit_append

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
