"""The worker's periodic jobs, scheduled by the worker itself (no cron): the webhook sweep,
the reminder sweep and the housekeeping.

Each job has one ``PeriodicRun`` row with its next time. Every running worker ticks about once
a second (``Scheduler``, a thread beside the worker's loop): it reads the rows, claims each
due job with one ``UPDATE ... WHERE next_run_at <= now`` (only one worker's update matches, so
a run is queued once however many workers run) and queues the job's task. A queue that refuses
(Redis stopped) leaves the job due: the next tick tries again, and when the queue is back the
sweeps send what waited meanwhile (the webhook outbox, the due reminders).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.tasks import Task
from django.utils import timezone

from appointments import tasks as appointment_tasks
from crm import housekeeping
from crm.models import PeriodicRun
from webhooks import tasks as webhook_tasks

logger = logging.getLogger(__name__)

# The longest pause between two ticks of a worker (shorter when a job repeats more often).
TICK_SECONDS = 1.0


@dataclass(frozen=True)
class Job:
    task: Task
    every: Callable[[], float]  # seconds from one run to the next

    @property
    def name(self) -> str:
        return self.task.module_path


def jobs() -> list[Job]:
    return [
        Job(webhook_tasks.sweep, lambda: settings.WEBHOOKS["SWEEP_SECONDS"]),
        Job(appointment_tasks.sweep, lambda: settings.CRM["REMINDER_SWEEP_SECONDS"]),
        Job(housekeeping.housekeeping, lambda: settings.CRM["HOUSEKEEPING_SECONDS"]),
    ]


def tick(now: datetime | None = None) -> list[str]:
    """Queue every job that is due and that this call claims; the names queued."""
    now = now or timezone.now()
    planned = dict(PeriodicRun.objects.values_list("name", "next_run_at"))
    queued = []
    for job in jobs():
        at = planned.get(job.name)
        if at is not None and at > now:
            continue
        if not _claim(job, now, known=at is not None):
            continue  # another worker's
        try:
            job.task.enqueue()
        except Exception as exc:  # the queue refused (e.g. Redis is down): due at the next tick
            PeriodicRun.objects.filter(name=job.name).update(next_run_at=now)
            if job.name not in _refused:
                _refused.add(job.name)
                logger.warning("Could not queue %s (%s); trying every second.", job.name, exc)
            continue
        if job.name in _refused:
            _refused.discard(job.name)
            logger.warning("Queued %s again.", job.name)
        queued.append(job.name)
    return queued


_refused: set[str] = set()  # the jobs whose last try to queue failed (said once in the log)


def _claim(job: Job, now: datetime, *, known: bool) -> bool:
    next_run_at = now + timedelta(seconds=job.every())
    if known:
        rows = PeriodicRun.objects.filter(name=job.name, next_run_at__lte=now)
        return rows.update(next_run_at=next_run_at) == 1
    _run, created = PeriodicRun.objects.get_or_create(
        name=job.name, defaults={"next_run_at": next_run_at}
    )
    return created


def run_all_now() -> None:
    """Make every job due (a worker starting: what waited while no worker ran goes first)."""
    now = timezone.now()
    for job in jobs():
        PeriodicRun.objects.update_or_create(name=job.name, defaults={"next_run_at": now})


def pause() -> float:
    return max(0.1, min([TICK_SECONDS, *(job.every() for job in jobs())]))


class Scheduler(threading.Thread):
    """The worker's ticking thread; ``stop()`` ends it after the current tick."""

    def __init__(self) -> None:
        super().__init__(name="periodic-jobs", daemon=True)
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(pause()):
            try:
                tick()
            except DatabaseError:
                logger.warning("Could not read the periodic jobs; trying again.", exc_info=True)
            finally:
                close_old_connections()

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=10)
