"""Queueing work from a request or a task, once its transaction has committed: a queue that
refuses (Redis stopped, the database queue's table locked) never fails the request and loses
nothing, because the work itself is in the database (the webhook outbox and deliveries, the
reminders) and the worker's sweeps queue it again (``crm.periodic``). It is said in the log in
one line, at most once a minute."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial

from django.db import transaction

logger = logging.getLogger(__name__)

WARN_EVERY_SECONDS = 60
_warned_at = -WARN_EVERY_SECONDS


def attempt(queue: Callable[..., object], *args) -> None:
    """``queue(*args)`` (something that enqueues a task); a failure is logged, not raised."""
    global _warned_at
    try:
        queue(*args)
    except Exception as exc:
        if time.monotonic() - _warned_at >= WARN_EVERY_SECONDS:
            _warned_at = time.monotonic()
            logger.warning("Could not queue a task (%s); the worker's sweep will.", exc)


def after_commit(queue: Callable[..., object], *args) -> None:
    """``attempt(queue, *args)`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(attempt, queue, *args))
