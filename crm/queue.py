"""Queued work that repeats (the worker's sweeps): at most one run of a task waits in the
queue, whoever asks for the next one (each worker start and each run asks)."""

from __future__ import annotations

import datetime as dt
import zlib

from django.db import transaction
from django.tasks import Task, TaskResultStatus
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from crm import locks


def enqueue_once(task: Task, *, run_after: dt.datetime) -> None:
    """Queue ``task`` to run after ``run_after``, unless a run of it already waits. Only the
    database backend can tell; with another backend it is queued (a repeat does no harm)."""
    backend = task.get_backend()
    if not isinstance(backend, DatabaseBackend):
        task.using(run_after=run_after).enqueue()
        return
    with transaction.atomic():
        locks.hold(zlib.crc32(task.module_path.encode()))  # serializes the check (PostgreSQL)
        waiting = DBTaskResult.objects.filter(
            task_path=task.module_path, backend_name=backend.alias, status=TaskResultStatus.READY
        )
        if not waiting.exists():
            task.using(run_after=run_after).enqueue()
