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

.PHONY: setup run serve test lint format

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
