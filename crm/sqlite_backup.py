"""Backups of a SQLite database (README, "Backup and restore"): SQLite's online backup (the
sqlite3 module's ``Connection.backup``) copies the database page by page under SQLite's own
locks, so the copy is consistent while the app writes, and a restore replaces a database's
content through SQLite (no stale ``-wal`` file of the old content survives). Debian's
``sqlite3`` program is not needed. A PostgreSQL database is backed up with pg_dump."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, connections


def database_file() -> Path:
    """The file of the app's SQLite database (``DATABASE_URL``); refused for any other engine."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "sqlite":
        raise CommandError(
            f"DATABASE_URL names a {connection.vendor} database, not SQLite: back it up with "
            'its own tools (PostgreSQL: pg_dump, README "Backup and restore").'
        )
    return Path(connection.settings_dict["NAME"])


def _open_existing(path: Path) -> sqlite3.Connection:
    """A connection to a database file that must exist (sqlite3 would create an empty one)."""
    if not path.is_file():
        raise CommandError(f"No database file at {path}.")
    return sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=30)


def backup(target: Path) -> Path:
    """A consistent copy of the app's database at ``target``, in one file (no ``-wal`` beside
    it). It is written beside ``target`` first and renamed, so a failed backup leaves the
    previous one at ``target``."""
    source_path = database_file()
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    source = _open_existing(source_path)
    copy = sqlite3.connect(partial)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")
    finally:
        copy.close()
        source.close()
    os.replace(partial, target)
    return source_path


def restore(backup_file: Path) -> Path:
    """The app's database (created if missing) given the content of ``backup_file``."""
    target_path = database_file()
    source = _open_existing(backup_file)
    target = sqlite3.connect(target_path, timeout=30)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    return target_path
