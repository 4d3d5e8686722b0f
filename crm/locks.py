"""Locks that serialize writers of one thing across server processes."""

from __future__ import annotations

from django.db import connection


def hold(*key: int) -> None:
    """Until the current transaction ends, one transaction at a time holds ``key`` (one
    bigint, or two ints: a class and an id) on PostgreSQL (an advisory lock). SQLite runs
    its write transactions one at a time already (IMMEDIATE), so it takes nothing there."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_advisory_xact_lock({', '.join(['%s'] * len(key))})", key)
