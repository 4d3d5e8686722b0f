"""Settings, read from the environment.

Defaults give a zero-configuration development setup on SQLite. Production sets
``DEBUG=0``, ``SECRET_KEY``, ``ALLOWED_HOSTS`` and ``DATABASE_URL=postgres://...``.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
import django.forms
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production-0123456789abcdef"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# Content-Security-Policy on every answer: scripts only from this site, the pages' own with
# the request's nonce; styles only from this site, but for style attributes (the status
# colours an administrator picks are set as style="--badge: ..."); no plugins, no framing.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "style-src-attr": [CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# HTTPS=1: the site is served over HTTPS (usually by a proxy in front that sets
# X-Forwarded-Proto): secure cookies, HSTS, redirects from http, and the proxy's header
# trusted. Each has its own variable to override it.
HTTPS = env_bool("HTTPS", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", HTTPS)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if HTTPS else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", HTTPS)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("SECURE_PROXY_SSL_HEADER", HTTPS) else None
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "django_htmx",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks_db",
    # RQ's queues in the admin when REDIS_URL is set (RQ_SHOW_ADMIN_LINK); always installed, so
    # the migrations a database has do not depend on REDIS_URL.
    "django_rq",
    "crm",
    "leads",
    "appointments",
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "crm.web.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "crm.web.SignInRedirectMiddleware",
    "crm.web.HtmxMessagesMiddleware",
    "crm.replica.PinWriters",  # read replica: a successful write pins its author to the primary
]

ROOT_URLCONF = "crm.urls"
# A form sent with a stale security token gets a page in the app's layout (crm/errors.py).
CSRF_FAILURE_VIEW = "crm.errors.csrf_failure"

# The web app's pages render with Jinja2 (crm/jinja.py, templates/jinja2); the admin and the API
# docs page with Django's template language (templates/).
TEMPLATES = [
    {
        "BACKEND": "crm.jinja.Pages",
        "NAME": "pages",
        "DIRS": [BASE_DIR / "templates" / "jinja2", Path(django.forms.__file__).parent / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "crm.jinja.environment",
            "context_processors": [
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.web.navigation",
                "django.template.context_processors.csp",
            ],
        },
    },
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.web.navigation",
                "django.template.context_processors.csp",
            ],
        },
    },
]

FORM_RENDERER = "crm.forms.FormRenderer"

WSGI_APPLICATION = "crm.wsgi.application"

# SQLite by default; PostgreSQL (or any dj-database-url URL) through DATABASE_URL.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
    )
}
# DATABASE_POOL=N: on PostgreSQL, each server process keeps a psycopg pool of at most N
# connections (Django's "pool" option) instead of one persistent connection per thread, so
# threaded servers and many processes stay within max_connections. CONN_MAX_AGE must be 0
# with a pool (it is set so). Behind PgBouncer (DATABASE_PGBOUNCER=1) leave it at 0: PgBouncer is
# the pool, and a persistent connection to it per thread (CONN_MAX_AGE) costs it almost nothing.
DATABASE_POOL = int(os.environ.get("DATABASE_POOL", "0"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DATABASE_POOL > 0:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL,
        "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "10")),
    }
# On PostgreSQL, statements are sent with their parameters apart (server-side binding), so
# psycopg prepares a statement a connection sends again and again (its fifth time) and the
# server stops parsing and planning it on every request.
# DATABASE_PGBOUNCER=1: connections go through PgBouncer in transaction mode, where a
# server-side cursor (the CSV export's iterator) cannot outlive its transaction and a prepared
# statement may meet another server connection: both are off.
PGBOUNCER = os.environ.get("DATABASE_PGBOUNCER", "0") == "1"
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = not PGBOUNCER
    # Django turns psycopg's preparing off unless asked (for poolers): asked here.
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = None if PGBOUNCER else 5
if PGBOUNCER:
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take SQLite's write lock at BEGIN, so every atomic block that
    # checks and then writes (appointment conflicts, duplicate checks) runs serialized.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

# --- Read replica (crm/replica.py) ---
# DATABASE_REPLICA_URL=postgres://...: a streaming replica (hot standby) of DATABASE_URL's
# database. The heavy reads (the CSV export, the dashboard, the REST lists and getters) go to
# it, with the primary's connection options (DATABASE_POOL, DATABASE_PGBOUNCER) and a
# connection timeout of DATABASE_REPLICA_CONNECT_TIMEOUT seconds; a user or API key that has
# just written reads from the primary for REPLICA_PIN_SECONDS. The replica out of reach: the
# primary answers, and the replica is tried again after REPLICA_RETRY_SECONDS. Unset: every
# read on the primary, as without this block.
REPLICA = {
    "ALIAS": "replica" if os.environ.get("DATABASE_REPLICA_URL") else "",
    "PIN_SECONDS": float(os.environ.get("REPLICA_PIN_SECONDS", "5")),
    "RETRY_SECONDS": float(os.environ.get("REPLICA_RETRY_SECONDS", "30")),
}


def replica_database(url: str) -> dict:
    """The replica's DATABASES entry: ``url`` with the primary's options."""
    primary = DATABASES["default"]
    replica = dj_database_url.parse(url, conn_max_age=primary["CONN_MAX_AGE"])
    if (
        primary["ENGINE"] != "django.db.backends.postgresql"
        or replica["ENGINE"] != primary["ENGINE"]
    ):
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL needs PostgreSQL in DATABASE_URL and in it."
        )
    options = {**primary.get("OPTIONS", {}), **replica.get("OPTIONS", {})}
    timeout = int(os.environ.get("DATABASE_REPLICA_CONNECT_TIMEOUT", "2"))
    options["connect_timeout"] = timeout
    if "pool" in options:  # a pool's wait for a connection is bounded by the same timeout
        options["pool"] = {**options["pool"], "timeout": min(options["pool"]["timeout"], timeout)}
    replica["OPTIONS"] = options
    if primary.get("DISABLE_SERVER_SIDE_CURSORS"):
        replica["DISABLE_SERVER_SIDE_CURSORS"] = True
    return replica


if REPLICA["ALIAS"]:
    DATABASES[REPLICA["ALIAS"]] = replica_database(os.environ["DATABASE_REPLICA_URL"])
    DATABASE_ROUTERS = ["crm.replica.ReplicaRouter"]
# --- end of the read replica's block ---

AUTH_USER_MODEL = "crm.User"
AUTHENTICATION_BACKENDS = ["crm.backends.ModelBackend"]
SESSION_ENGINE = "crm.sessions"  # Django's database sessions, read by a compiled query
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
# The country whose numbering a phone number written without "+<country code>" follows, when
# the web app shows it formatted (crm.filters.phone); numbers are stored as given.
PHONE_DEFAULT_REGION = os.environ.get("PHONE_DEFAULT_REGION", "US")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "crm.storage.StaticStorage"
        )
    },
}
# Before collectstatic has run, WhiteNoise serves the apps' static folders (crm.storage).
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = BASE_DIR / "media"
MEDIA_URL = "media/"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Request bodies: generous for batch APIs, bounded so a client cannot exhaust memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["crm.api.authentication.ApiKeyJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "crm.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "crm.api.envelope.exception_handler",
    # No OPTIONS answers (DRF's metadata, outside the envelope and the schema): 405 as for any
    # method an endpoint does not serve.
    "DEFAULT_METADATA_CLASS": None,
    # Requests per API key (CRM["RATE_LIMIT_PER_SECOND"], ["RATE_LIMIT_PER_DAY"]).
    "DEFAULT_THROTTLE_CLASSES": ["crm.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "crm.api.schema.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=int(os.environ.get("JWT_ACCESS_MINUTES", "15"))),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=int(os.environ.get("JWT_REFRESH_DAYS", "7"))),
    "ROTATE_REFRESH_TOKENS": False,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Lead CRM REST API",
    "DESCRIPTION": (
        "Leads, notes and appointments. Every request carries an `apikey` header and an "
        "`Authorization: Bearer <access token>` header."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "PREPROCESSING_HOOKS": ["crm.api.schema.drop_aliases"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "crm.api.schema.describe_wire",
    ],
}

# Redis (REDIS_URL=redis://host:6379/0), for several app servers and workers: the cache
# ("default", crm.cache: a Redis that is down reads as empty and stores nothing, so pages and
# APIs keep serving), the store of the rate limits, sign-in throttle and password-reset limits
# ("limits": when Redis is down they count in the database instead, crm.ratelimit), and the
# task queue (RQ through django-tasks-rq; `manage.py run_worker` runs RQ's worker). Without it:
# a per-process memory cache, limits in the database, and the queue in the database.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    # A Redis that is down or unreachable fails a call within a second, never hangs a request.
    _redis_options = {"socket_connect_timeout": 1, "socket_timeout": 2}
    CACHES = {
        "default": {
            "BACKEND": "crm.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": _redis_options,
        },
        "limits": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "limits",
            "OPTIONS": _redis_options,
        },
    }
    # A task runs for at most DEFAULT_TIMEOUT seconds (RQ stops it after).
    RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600}}

RQ_SHOW_ADMIN_LINK = bool(REDIS_URL)

# Background tasks (webhook deliveries, reminders, the worker's periodic jobs), run by
# `manage.py run_worker`: on RQ when REDIS_URL is set, otherwise a queue in the database.
# TASKS_BACKEND names another django.tasks backend.
TASKS = {
    "default": {
        "BACKEND": os.environ.get(
            "TASKS_BACKEND",
            "django_tasks_rq.RQBackend" if REDIS_URL else "django_tasks_db.DatabaseBackend",
        ),
        "QUEUES": ["default"],
    }
}

CRM = {
    # How often an API key's last-used time is written (seconds); reads stay read-only between.
    "API_KEY_TOUCH_INTERVAL": 60,
    # Upcoming appointments listed on the overview at most.
    "OVERVIEW_APPOINTMENTS_LIMIT": 100,
    # Rows per page of the web app's leads list.
    "LEADS_PAGE_SIZE": 50,
    # Partner APIs (JSON-RPC and lead_set): objects per call, and requests per API key.
    "RPC_MAX_OBJECTS": int(os.environ.get("RPC_MAX_OBJECTS", "500")),
    "RATE_LIMIT_PER_SECOND": int(os.environ.get("RATE_LIMIT_PER_SECOND", "10")),
    "RATE_LIMIT_PER_DAY": int(os.environ.get("RATE_LIMIT_PER_DAY", "50000")),
    # Where request counts live: "database" (shared by every server process; the default
    # without REDIS_URL) or the alias of a shared cache in CACHES ("limits", Redis, with
    # REDIS_URL). Never per-process memory.
    "RATE_LIMIT_STORE": os.environ.get("RATE_LIMIT_STORE", "limits" if REDIS_URL else "database"),
    # Failed sign-ins (web, admin, API) per account and per client address within a window
    # of LOGIN_LOCKOUT_SECONDS; past either, sign-ins are refused until the window ends
    # (crm.signin). Behind a proxy, LOGIN_CLIENT_ADDRESS_HEADER names the header that carries
    # the client's address (e.g. HTTP_X_REAL_IP); otherwise REMOTE_ADDR.
    "LOGIN_FAILURES_PER_ACCOUNT": int(os.environ.get("LOGIN_FAILURES_PER_ACCOUNT", "5")),
    "LOGIN_FAILURES_PER_ADDRESS": int(os.environ.get("LOGIN_FAILURES_PER_ADDRESS", "50")),
    "LOGIN_LOCKOUT_SECONDS": int(os.environ.get("LOGIN_LOCKOUT_SECONDS", "900")),
    "LOGIN_CLIENT_ADDRESS_HEADER": os.environ.get("LOGIN_CLIENT_ADDRESS_HEADER", ""),
    # "Forgot password?" requests per email address and per client address in an hour; past
    # either, no email is sent and the page says to try later (crm.password_reset).
    "PASSWORD_RESETS_PER_HOUR": int(os.environ.get("PASSWORD_RESETS_PER_HOUR", "5")),
    # lead_set file uploads: the largest file accepted, in bytes.
    "LEAD_FILE_MAX_BYTES": int(os.environ.get("LEAD_FILE_MAX_BYTES", str(5 * 1024 * 1024))),
    # lead_set's govt_id: the system name of the custom field that stores it (an administrator
    # creates the field). Unset: lead_set refuses govt_id rather than drop it.
    "LEAD_SET_GOVT_ID_FIELD": os.environ.get("LEAD_SET_GOVT_ID_FIELD", ""),
    # How often the worker sends reminders whose own task was lost, and the morning agendas.
    "REMINDER_SWEEP_SECONDS": float(os.environ.get("REMINDER_SWEEP_SECONDS", "60")),
    # How often the worker's housekeeping runs (seconds, crm.housekeeping): it deletes CSV
    # imports left unreviewed for 7 days, delivered webhooks older than
    # WEBHOOKS["KEEP_DELIVERED_DAYS"], finished tasks of the database queue older than
    # TASK_RESULTS_KEEP_DAYS and expired sessions, and refreshes SQLite's statistics.
    "HOUSEKEEPING_SECONDS": float(os.environ.get("HOUSEKEEPING_SECONDS", "3600")),
    "TASK_RESULTS_KEEP_DAYS": int(os.environ.get("TASK_RESULTS_KEEP_DAYS", "7")),
}

# Email (reminders, the morning agenda), from the environment: EMAIL_BACKEND, EMAIL_HOST,
# EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS, EMAIL_TIMEOUT (SMTP),
# EMAIL_FILE_PATH (the file backend), DEFAULT_FROM_EMAIL. Unset, a development server (DEBUG)
# prints emails on the console and production sends through SMTP on localhost:25.
_email_backend = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
_mail_options: dict = {}
if _email_backend.endswith("smtp.EmailBackend"):
    _mail_options = {
        "host": os.environ.get("EMAIL_HOST", "localhost"),
        "port": int(os.environ.get("EMAIL_PORT", "25")),
        "username": os.environ.get("EMAIL_HOST_USER", ""),
        "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
        "timeout": int(os.environ.get("EMAIL_TIMEOUT", "20")),
    }
elif _email_backend.endswith("filebased.EmailBackend"):
    _mail_options = {"file_path": os.environ.get("EMAIL_FILE_PATH", str(BASE_DIR / "sent-mail"))}
MAILERS = {"default": {"BACKEND": _email_backend, "OPTIONS": _mail_options}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Lead CRM <crm@localhost>")

# Webhooks (SPEC §7): POSTs of changed leads to subscribed URLs, from `manage.py run_worker`.
WEBHOOKS = {
    # A failed POST is retried after BACKOFF_SECONDS, doubling each time up to
    # BACKOFF_MAX_SECONDS (+-20% jitter), until MAX_AGE_SECONDS after the delivery was created;
    # then the delivery is marked failed.
    "BACKOFF_SECONDS": float(os.environ.get("WEBHOOK_BACKOFF_SECONDS", "30")),
    "BACKOFF_MAX_SECONDS": float(os.environ.get("WEBHOOK_BACKOFF_MAX_SECONDS", "3600")),
    "MAX_AGE_SECONDS": float(os.environ.get("WEBHOOK_MAX_AGE_SECONDS", str(3 * 24 * 3600))),
    # Socket timeout of a POST (connect, and each read). A delivery in flight stays locked for
    # 2 x TIMEOUT + 5 seconds; after that a worker may try it again.
    "TIMEOUT_SECONDS": float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10")),
    # Delivered webhooks (and their attempts) are deleted this many days after delivery.
    "KEEP_DELIVERED_DAYS": int(os.environ.get("WEBHOOK_KEEP_DELIVERED_DAYS", "30")),
    # How often a running worker re-queues deliveries and changes a killed worker left behind.
    "SWEEP_SECONDS": float(os.environ.get("WEBHOOK_SWEEP_SECONDS", "60")),
    # Webhooks go to https URLs on public addresses only (webhooks.addresses); these allow
    # plain http, and private, loopback and link-local addresses (a receiver on your network).
    "ALLOW_HTTP": env_bool("WEBHOOK_ALLOW_HTTP", False),
    "ALLOW_PRIVATE": env_bool("WEBHOOK_ALLOW_PRIVATE", False),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # No JSON-RPC secretKey in any log line (crm.logs).
    "filters": {"redact": {"()": "crm.logs.RedactSecrets"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Django's own loggers (requests, the tasks worker, the development server's request log)
    # print through the root's handler, once, instead of through Django's default handlers.
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
    },
}
