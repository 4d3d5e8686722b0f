# Two commands for a new user (see README.md):
#   make run   set up a virtualenv, migrate SQLite, add demo data, serve http://127.0.0.1:8000
#              (PORT=8001 for another port)
#              (with the background worker beside the server)
#   make serve the production setup (DEBUG=0, gunicorn, the worker) on 127.0.0.1 for a try-out
#   make test  set up the same virtualenv and run the checks and the whole test suite
# DATABASE_URL=postgres://... selects PostgreSQL for either.

PYTHON ?= $(shell for p in python3 python3.13 python3.12; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && echo $$p && break; done)
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?= -n 2

.PHONY: setup run serve test lint format test-pgbouncer

$(BIN)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python >= 3.12 is required (python3.12 or python3.13)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

setup: $(BIN)/.installed

# The background worker (webhook deliveries, reminders) runs beside the server and stops with
# it. `make run PORT=8001` serves on another port. Migrations print only when they fail (the
# system checks run with them, so the server skips its own).
PORT ?= 8000

run: setup
	@$(BIN)/python manage.py migrate --no-input --verbosity 0
	@$(BIN)/python manage.py seed_demo --port $(PORT)
	@$(BIN)/python manage.py run_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(BIN)/python manage.py runserver --skip-checks 127.0.0.1:$(PORT)

# The production setup for a try-out (README, "Deploy"): DEBUG=0 with a throwaway SECRET_KEY
# unless one is set, SQLite unless DATABASE_URL is set, emails on the worker's console unless
# EMAIL_BACKEND is set; collectstatic, migrate, the demo data on a database without users only,
# then gunicorn with deploy/gunicorn.conf.py on 127.0.0.1:$(PORT) and the worker, both stopped
# by Ctrl-C.
serve: setup
	@export DEBUG=0 \
	  SECRET_KEY="$${SECRET_KEY:-$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')}" \
	  ALLOWED_HOSTS="$${ALLOWED_HOSTS:-127.0.0.1,localhost}" \
	  EMAIL_BACKEND="$${EMAIL_BACKEND:-django.core.mail.backends.console.EmailBackend}" \
	  WEB_CONCURRENCY="$${WEB_CONCURRENCY:-2}"; \
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0 && \
	$(BIN)/python manage.py migrate --noinput --verbosity 0 && \
	$(BIN)/python manage.py seed_demo --if-empty --port $(PORT) || exit 1; \
	$(BIN)/python manage.py run_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(BIN)/gunicorn -c deploy/gunicorn.conf.py --bind 127.0.0.1:$(PORT)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# PgBouncer (README, "Deploy"): the tests of every write path and of the worker, through a
# PgBouncer in transaction pooling mode that passes every database name on to DATABASE_URL's
# server: `make test-pgbouncer PGBOUNCER=127.0.0.1:6432` with DATABASE_URL=postgres://...
# (.ci/run starts one so). The test databases are made and dropped on DATABASE_URL directly
# (tests/pgbouncer.py).
PGBOUNCER_TESTS = tests/test_pgbouncer.py \
	tests/test_web_appointments.py tests/test_web_calls_files.py tests/test_web_tasks.py \
	tests/test_web_merge.py tests/test_web_pipeline.py tests/test_web_settings.py \
	tests/test_web_auth.py tests/test_web_import.py tests/test_admin.py tests/test_bulk.py \
	tests/test_channels_agree.py tests/test_rest_roles.py tests/test_rest_auth.py \
	tests/test_rpc_api.py tests/test_rpc_leads.py tests/test_lead_set_upsert.py \
	tests/test_partner_concurrency.py tests/test_custom_fields.py tests/test_lead_counts.py \
	tests/test_timeline_and_soft_delete.py tests/test_appointment_rules.py \
	tests/test_appointment_lifecycle.py tests/test_concurrent_booking.py \
	tests/test_webhooks.py tests/test_reminders.py tests/test_tasks.py tests/test_periodic.py

test-pgbouncer: setup
	@test -n "$(PGBOUNCER)" || { echo "PGBOUNCER=host:port names the PgBouncer."; exit 1; }
	DATABASE_PGBOUNCER=1 TEST_PGBOUNCER=$(PGBOUNCER) $(BIN)/python -m pytest $(PYTEST_ARGS) \
	  $(PGBOUNCER_TESTS)
