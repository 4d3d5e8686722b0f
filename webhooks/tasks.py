"""Background tasks of the webhooks (Django's tasks framework; run by ``manage.py run_worker``).

- ``dispatch_changes``: the outbox of lead changes -> deliveries, each queued to ``deliver``.
- ``deliver(pk)``: one POST of one delivery; a failure queues the next try (backoff).
- ``sweep``: ``recover()``, queued every WEBHOOKS["SWEEP_SECONDS"] by ``crm.periodic``.

Delivery rows are the truth, queued tasks only a means: a worker killed mid-task leaves its
task "running" for ever, so ``recover()`` re-queues every due delivery that no worker holds
and no queued task covers, and dispatches changes left in the outbox.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from django.tasks import TaskResultStatus, task
from django.tasks.exceptions import TaskResultDoesNotExist
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from webhooks import delivery as work
from webhooks.models import Delivery

logger = logging.getLogger(__name__)


@task
def dispatch_changes() -> int:
    """Make deliveries of the pending lead changes and queue them; returns how many."""
    created = work.dispatch_pending_changes()
    for pk in created:
        enqueue_delivery(pk)
    return len(created)


@task
def deliver(delivery_pk: int) -> str:
    """Try one delivery once; on failure, queue the next try at its backoff time."""
    outcome = work.attempt(delivery_pk)
    if outcome.retry_at is not None:
        enqueue_delivery(delivery_pk, run_after=outcome.retry_at)
    return outcome.status


@task
def sweep() -> int:
    """Recover lost work (queued every SWEEP_SECONDS by the worker's scheduler,
    ``crm.periodic``)."""
    return recover()


def enqueue_delivery(delivery_pk: int, *, run_after: dt.datetime | None = None) -> None:
    """Queue ``deliver`` and note the task on the delivery, so recovery does not queue it
    again while that task waits."""
    queued = deliver.using(run_after=run_after) if run_after else deliver
    result = queued.enqueue(delivery_pk)
    Delivery.objects.filter(pk=delivery_pk).update(task_id=str(result.id))


def recover() -> int:
    """Dispatch the outbox, and re-queue every due delivery that no worker holds and no queued
    task covers (its task was lost with a killed worker). Returns how many were re-queued."""
    dispatch_changes.call()
    due = work.due_deliveries()
    waiting = _waiting_tasks([task_id for _pk, task_id in due if task_id])
    requeued = 0
    for pk, task_id in due:
        if task_id not in waiting:
            enqueue_delivery(pk)
            requeued += 1
    if requeued:
        logger.info("Re-queued %d webhook deliveries.", requeued)
    return requeued


def _waiting_tasks(task_ids: list[str]) -> set[str]:
    """Which of these tasks still wait in the queue. A task the queue no longer knows (lost
    with a stopped Redis, or expired) counts as not waiting: its delivery is queued again (a
    duplicate does nothing: the claim in ``attempt`` lets one run through)."""
    backend = deliver.get_backend()
    if not isinstance(backend, DatabaseBackend):
        return {task_id for task_id in task_ids if _waits(backend, task_id)}
    ids = []
    for task_id in task_ids:
        try:
            ids.append(uuid.UUID(task_id))
        except ValueError:
            continue
    waiting = DBTaskResult.objects.filter(id__in=ids, status=TaskResultStatus.READY)
    return {str(pk) for pk in waiting.values_list("id", flat=True)}


def _waits(backend, task_id: str) -> bool:
    try:
        return backend.get_result(task_id).status == TaskResultStatus.READY
    except TaskResultDoesNotExist:
        return False
