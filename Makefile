# Two commands matter: `make run` (set up and serve the demo) and `make test` (set up and test).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app app
DEV_ENV := PORTAL_ENV=development

.PHONY: run test test-postgres lint setup setup-dev assets chromium migrate demo clean bench-delivery bench-api bench-pages bench-analytics bench-bulk

run: setup assets migrate demo
	@printf '\nMember Portal: http://127.0.0.1:5000/ (log in with a demo login above)\n'
	@printf 'Development mailbox: http://127.0.0.1:5000/dev/mailbox (every e-mail the portal sends lands there)\n\n'
	$(DEV_ENV) PORTAL_CONFIG_EMBEDDED_WORKER=1 $(FLASK) run --host 127.0.0.1 --port 5000

# One test process per core: each has its own database (a SQLite file, or a PostgreSQL
# schema), SMTP server and browser, so they share nothing.
PYTEST_ARGS ?= -n auto

test: setup-dev assets chromium
	$(BIN)/pytest $(PYTEST_ARGS)

test-postgres: setup-dev assets chromium
	TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test $(BIN)/pytest $(PYTEST_ARGS)

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# Each install step re-runs only when its lock file changes.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.lock
	touch $@

$(VENV)/.dev-installed: requirements-dev.lock | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.lock
	touch $@ $(VENV)/.runtime-installed

setup: $(VENV)/.runtime-installed
setup-dev: $(VENV)/.dev-installed

# npm ci installs package-lock.json exactly (htmx for the pages, axe-core for the e2e
# accessibility check); the stamp, inside node_modules/, re-runs it when the lock changes
# or node_modules/ is gone.
NPM_STAMP := node_modules/.installed

$(NPM_STAMP): package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

static/vendor/htmx.min.js: $(NPM_STAMP)
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js

# tests/e2e reads axe-core straight from node_modules/; it is never served to users.
assets: static/vendor/htmx.min.js $(NPM_STAMP)
	@test -f node_modules/axe-core/axe.min.js || { echo "node_modules/axe-core is missing: run npm ci"; exit 1; }

chromium:
	@scripts/ensure-chromium.sh

migrate: setup
	$(DEV_ENV) $(FLASK) portal migrate

demo: setup
	$(DEV_ENV) $(FLASK) portal seed-demo --if-empty

clean:
	rm -rf $(VENV) node_modules static/vendor

# Benchmarks (not tests): local receivers only; see bench/*.py for what each measures.
bench-delivery: setup-dev
	$(BIN)/python bench/delivery.py $(BENCH_ARGS)

bench-api: setup-dev
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python bench/api.py $(BENCH_ARGS)

bench-pages: setup-dev
	$(BIN)/python bench/pages.py $(BENCH_ARGS)

bench-analytics: setup-dev
	$(BIN)/python bench/analytics.py $(BENCH_ARGS)

bench-bulk: setup-dev
	$(BIN)/python bench/bulk.py $(BENCH_ARGS)
