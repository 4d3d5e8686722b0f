"""The worker on RQ (``REDIS_URL``): ``manage.py run_worker`` runs RQ's worker on the queues of
the default tasks backend (django-tasks-rq's job class; RQ's own scheduler moves tasks queued
for later to the queue when their time comes), beside the periodic jobs' scheduler
(``crm.periodic``).

Tasks run in the worker's process, one at a time (RQ's SimpleWorker: no fork per task), each
with fresh database connections as a request gets. A Redis that is down or unreachable stops
nothing: the worker waits for it (retrying every few seconds) and goes on when it is back."""

from __future__ import annotations

import logging
import time

import django_rq
from django.db import close_old_connections
from django.tasks import task_backends
from django_tasks_rq import Job
from redis.exceptions import ConnectionError, TimeoutError
from rq import SimpleWorker

logger = logging.getLogger(__name__)

RETRY_SECONDS = 2
# An idle worker waits for a task at most WORKER_TTL - 15 seconds at a time (then reports that
# it is alive): a stop request that comes while Redis is being reconnected waits that long.
WORKER_TTL = 20


class Worker(SimpleWorker):
    # While Redis is unreachable, RQ retries with a growing wait: at most this many seconds.
    max_connection_wait_time = 5.0

    def execute_job(self, job, queue):
        close_old_connections()
        try:
            return super().execute_job(job, queue)
        finally:
            close_old_connections()


def uses_rq() -> bool:
    return type(task_backends["default"]).__module__.startswith("django_tasks_rq")


def run(*, burst: bool = False, logging_level: str = "WARNING") -> None:
    """Work the queues until stopped (SIGTERM or Ctrl-C: the task in hand finishes first)."""
    queues = sorted(task_backends["default"].queues)
    waiting = False
    while True:
        try:
            worker = django_rq.get_worker(
                *queues, job_class=Job, worker_class=Worker, worker_ttl=WORKER_TTL
            )
            worker.work(burst=burst, with_scheduler=True, logging_level=logging_level)
            return
        except (ConnectionError, TimeoutError) as exc:
            if not waiting:
                logger.warning("Redis is unavailable (%s); waiting for it.", exc)
                waiting = True
            time.sleep(RETRY_SECONDS)
