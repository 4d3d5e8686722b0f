"""The production environment the README's Deploy section documents (deploy/crm.env), for the
tests that start the app in processes of their own: the file's values, with the machine's own
secret, database and static folder in place of its placeholders."""

from __future__ import annotations

import os
import secrets
import shlex
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
ENV_FILE = ROOT / "deploy" / "crm.env"


def documented() -> dict[str, str]:
    """deploy/crm.env as systemd's EnvironmentFile= and the README's `set -a; . crm.env` read
    it: NAME=value lines, comments and blank lines skipped, quotes removed."""
    values = {}
    for line in ENV_FILE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            (values[name.strip()],) = shlex.split(value) or [""]
    return values


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """deploy/crm.env on a throwaway SQLite database and static folder, with a fresh secret."""
    # Not this process's settings, nor what the browser tests set for Playwright.
    left_out = {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in left_out}
    return {
        **env,
        **documented(),
        "DJANGO_SETTINGS_MODULE": "crm.settings",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "STATIC_ROOT": str(tmp_path / "static"),
        **extra,
    }
