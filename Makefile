# Mamori: `make run` starts the panel on SQLite; `make test` runs the whole suite.
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
MAMORI := $(BIN)/mamori
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-fast lint format messages bench venv clean assets

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
	$(BIN)/pytest -p no:cacheprovider -n auto $(PYTEST_ARGS)

# While developing: the non-browser tests, reusing their databases between runs (named after you,
# so two people's runs never share one). After changing a model, add PYTEST_ARGS=--create-db.
test-fast: export MAMORI_TEST_DB_NAME ?= mamori_test_$(shell id -un)
test-fast: venv
	$(BIN)/pytest -p no:cacheprovider -n auto --reuse-db -m "not browser" $(PYTEST_ARGS)

# Lint and message extraction load the settings but sign nothing: an explicit, public key is
# enough (with debug off and no key the settings refuse to load). A key set outside wins.
lint messages: export MAMORI_SECRET_KEY ?= not-a-secret-make-lint-and-messages-only

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	@# --database also runs the checks that read it: no contract's domain is a reserved path.
	@mkdir -p var
	$(MAMORI) check --database default --fail-level WARNING
	$(MAMORI) makemigrations --check --dry-run
	$(PY) scripts/check-translations mamori/locale/ja/LC_MESSAGES/django.po
	$(PY) scripts/check-catalogue-current $(MAMORI)
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

# The design system (Tabler) from npm into mamori/core/static/vendor/ (committed; needs npm).
assets:
	scripts/vendor-assets

bench: venv
	$(PY) -m bench $(BENCH_ARGS)
	$(PY) -m bench.users
	$(PY) -m bench.users_import
	$(PY) -m bench.audit_append
	$(PY) -m bench.floor

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
