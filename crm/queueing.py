"""Queueing work from a request or a task, once its transaction has committed: a queue that
refuses (Redis stopped, the database queue's table locked) never fails the request and loses
nothing, because the work itself is in the database (the webhook outbox and deliveries, the
reminders) and the worker's sweeps queue it again (``crm.periodic``). It is said in the log in
one line, at most once a minute."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from django.db import transaction

from crm.logs import warn_now_and_then

logger = logging.getLogger(__name__)


def attempt(queue: Callable[..., object], *args) -> None:
    """``queue(*args)`` (something that enqueues a task); a failure is logged, not raised."""
    try:
        queue(*args)
    except Exception as exc:
        warn_now_and_then(logger, "Could not queue a task (%s); the worker's sweep will.", exc)


def after_commit(queue: Callable[..., object], *args) -> None:
    """``attempt(queue, *args)`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(attempt, queue, *args))
