"""The worker's housekeeping (``crm.periodic`` queues it every ``CRM["HOUSEKEEPING_SECONDS"]``):
each step deletes what is kept no longer, or refreshes statistics. A step that fails is logged
and the others still run."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.db import connection
from django.tasks import TaskResultStatus, task
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from leads.imports import imports_prune
from webhooks.services import deliveries_prune

logger = logging.getLogger(__name__)


def task_results_prune() -> int:
    """Finished tasks of the database queue older than ``TASK_RESULTS_KEEP_DAYS`` (RQ lets its
    results expire by itself)."""
    cutoff = timezone.now() - timedelta(days=settings.CRM["TASK_RESULTS_KEEP_DAYS"])
    finished = DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED], finished_at__lt=cutoff
    )
    return finished.delete()[0]


def sessions_prune() -> int:
    """Expired sign-in sessions."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    return store.get_model_class().objects.filter(expire_date__lt=timezone.now()).delete()[0]


def statistics_refresh() -> int:
    """SQLite's planner statistics (PostgreSQL's autovacuum keeps its own): 1 when refreshed.
    ANALYZE samples at most ``analysis_limit`` rows per index, so it stays quick at any size."""
    if connection.vendor != "sqlite":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA analysis_limit = 1000")
        cursor.execute("ANALYZE")
    return 1


def steps() -> dict[str, Callable[[], int]]:
    return {
        "imports": imports_prune,
        "webhook deliveries": deliveries_prune,
        "task results": task_results_prune,
        "sessions": sessions_prune,
        "statistics": statistics_refresh,
    }


@task
def housekeeping() -> dict[str, int]:
    """Run every step; what each one did (rows deleted), the failed ones left out."""
    done = {}
    for name, step in steps().items():
        try:
            done[name] = step()
        except Exception:
            logger.exception("Housekeeping: %s failed.", name)
    return done
