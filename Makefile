# Mamori: `make run` starts the panel on SQLite; `make test` runs the whole suite.
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
MAMORI := $(BIN)/mamori
# make run HOST=… PORT=…: kept in .env for the next runs and for every command (scripts/dev-env).
HOST ?=
PORT ?=
# The AMAPI sandbox `make run` starts beside the panel (scripts/dev-env points .env at it).
SANDBOX_PORT := 8765

.PHONY: run test test-fast lint format messages bench venv clean assets

# Two installs: what running needs (make run), and that plus the tools of tests and lint (make
# venv, make test, make lint: the [dev] extra). Editable, so a change to the code needs no reinstall.
$(VENV)/.installed-run: pyproject.toml
	@test -x $(PY) || "$$(scripts/find-python)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml
	@test -x $(PY) || "$$(scripts/find-python)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed-run

venv: $(VENV)/.installed-dev

# Settings come from .env (written on the first run: debug off, so the product's own error pages,
# keys, port, mail files), which .venv/bin/mamori in another shell reads as well.
# The AMAPI sandbox (mamori amapi-sandbox serve: Google's Android Management API, emulated on
# loopback) runs beside them, its output in var/amapi-sandbox.log; debug is off, so it is told
# that it is not Google.
# Stopping: Ctrl-C reaches the worker itself (it finishes its current task), not the server (a
# background job ignores SIGINT), so the INT trap stops the server; a SIGTERM to make reaches this
# shell alone, so the TERM trap stops both (a TERM to the whole process group reaches the worker
# twice, and it then stops at once: its work is taken over after its lease). A trap of `kill 0`
# re-entered itself on the TERM it sent its own shell until the shell overflowed its stack:
# that was "make: *** Segmentation fault".
run: $(VENV)/.installed-run
	@mkdir -p var/static var/mail
	@address=$$($(PY) scripts/dev-env $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))) \
	  && $(MAMORI) migrate --noinput -v 0 \
	  && $(MAMORI) demo --cli $(MAMORI) \
	  && echo "  Settings:      .env (read by $(MAMORI), the worker and the panel)" \
	  && echo "  AMAPI sandbox: http://127.0.0.1:$(SANDBOX_PORT)/ stands in for Google (no account needed;" \
	  && echo "                 enroll virtual devices: $(MAMORI) amapi-sandbox enroll --token VALUE)" \
	  && echo "  Ctrl-C stops the panel, the worker and the sandbox." && echo \
	  && stopped=0 && trap 'stopped=1; kill $$server $$sandbox 2>/dev/null' INT \
	  && trap 'stopped=1; kill $$worker $$server $$sandbox 2>/dev/null' TERM \
	  && { $(MAMORI) amapi-sandbox serve --port $(SANDBOX_PORT) --i-know-this-is-not-google \
	       > var/amapi-sandbox.log 2>&1 & sandbox=$$!; } \
	  && { $(MAMORI) worker --interval 1 & worker=$$!; } \
	  && { $(MAMORI) runserver --noreload "$$address" & server=$$!; } \
	  && { wait $$server; status=$$?; [ $$stopped = 1 ] || kill $$worker $$sandbox 2>/dev/null; wait; \
	       [ $$stopped = 1 ] || exit $$status; }

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
