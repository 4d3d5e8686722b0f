"""The database out of reach (stopped, restarting, unreachable, or a write lock not granted in
time): the APIs answer 503 with ``Retry-After``, each in its own error format, instead of a
server error page. Nothing was written: each request's writes are one transaction."""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError

logger = logging.getLogger(__name__)

# Database errors that say "not now" rather than "not this": the same request may succeed
# once the database is back.
UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5
MESSAGE = "The service is temporarily unavailable. Nothing was changed; try again shortly."


def unavailable(exc: BaseException, where: str) -> bool:
    """Whether ``exc`` means the database is out of reach (logged if so)."""
    if isinstance(exc, UNAVAILABLE):
        logger.error("Database unavailable in %s: %s", where, exc)
        return True
    return False
