"""Fast settings for the test suite (the database still comes from DATABASE_URL)."""

import os
import tempfile
from pathlib import Path

from .settings import *  # noqa: F403
from .settings import CRM, DATABASES, REPLICA

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
LOGGING = {"version": 1, "disable_existing_loggers": False}
# No test trips the per-API-key limits by accident; tests of the limits set their own.
CRM = {**CRM, "RATE_LIMIT_PER_SECOND": 100_000, "RATE_LIMIT_PER_DAY": 10**9}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory: concurrency tests open one connection per thread.
    # TEST_SQLITE_NAME lets several test runs share a work tree without sharing a database.
    name = os.environ.get("TEST_SQLITE_NAME", ".test-db.sqlite3")
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / name)}  # noqa: F405
WHITENOISE_AUTOREFRESH = True
# Files the tests attach to leads land outside the work tree.
MEDIA_ROOT = Path(tempfile.gettempdir()) / "crm-test-media"

# Tasks are recorded, never run, in the test process: nothing runs inline and nothing reaches
# the network by surprise. Tests that need a real queue opt in (the webhook process tests
# switch to the database backend and run `manage.py run_worker` in a subprocess).
TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}

# The tests' webhook receivers listen on http://127.0.0.1; the tests of the address rules
# turn these off again.
WEBHOOKS = {**WEBHOOKS, "ALLOW_HTTP": True, "ALLOW_PRIVATE": True}  # noqa: F405

# Every REST answer in the tests is checked against the published OpenAPI schema.
MIDDLEWARE = ["tests.openapi_check.ConformanceMiddleware", *MIDDLEWARE]  # noqa: F405

# Read replica: the suite reads from the primary alone, whatever DATABASE_REPLICA_URL says (a
# test's uncommitted rows never reach a replica). tests/test_read_replica.py adds the replica of
# TEST_DATABASE_REPLICA_URL (.ci/run starts one) to its own tests.
if REPLICA["ALIAS"]:
    del DATABASES[REPLICA["ALIAS"]]
    REPLICA = {**REPLICA, "ALIAS": ""}
    DATABASE_ROUTERS: list[str] = []
