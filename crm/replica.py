"""Heavy reads on a streaming replica (``DATABASE_REPLICA_URL``), with read-your-writes.

The replica is a hot standby of the primary (``pg_basebackup -R``): every committed write
reaches it a moment later. The reads that cost the most and need no write after them go to it:
the CSV export, the dashboard (its counts and pictures), and the REST lists and getters (the
leads list, a lead with its notes, the appointments list, the overview). Each of those views is
marked with ``heavy_read``; ``reads(request)`` decides, once per request, which database
answers it, and ``ReplicaRouter`` sends the view's reads there. Writes, and every other read,
stay on the primary. Without ``DATABASE_REPLICA_URL`` nothing of this runs (no router, and
``heavy_read`` calls the view as it is).

Read-your-writes: a request that changes something (any successful POST, PUT, PATCH or
DELETE: a form, an HTMX action, a REST, JSON-RPC or lead_set call) pins who made it to the
primary for ``REPLICA["PIN_SECONDS"]`` (``REPLICA_PIN_SECONDS``, 5 by default), so that the
next page or list they ask for already holds their write, whichever server process answers:

- in the default cache, shared by every server when it is Redis (``REDIS_URL``): the user
  (``user:<id>``), or, for an API key used alone (JSON-RPC, lead_set), its account
  (``account:<account id>``; every REST read through that key is then pinned too). The APIs
  send no cookies, so this is their only pin: with a per-process cache (the default
  local-memory one) an API client's next read is pinned only on the process that took the
  write, and while Redis is down (the cache then stores nothing, ``crm.cache``) an API
  client's pin is not kept.
- for browsers, also a signed cookie (``crm_written``) that expires with the pin: it holds
  across processes whatever the cache.

The replica out of reach never fails a request: when its connection cannot be opened (or a
read on it fails with a database error), the request is read from the primary, a warning is
logged, and the primary answers every heavy read for ``REPLICA["RETRY_SECONDS"]`` before the
replica is tried again (so a replica that is down costs one connection timeout,
``DATABASE_REPLICA_CONNECT_TIMEOUT`` seconds, per process and period, not one per request).
A lagging replica is not measured: a pinned user reads its own writes from the primary, and
others may read data up to the replica's lag old.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.signing import BadSignature
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.functional import SimpleLazyObject, empty

from crm.services import api_key_parts

logger = logging.getLogger(__name__)

# The database a heavy read's queries go to, while its view runs (None: the primary).
_reading: contextvars.ContextVar[str | None] = contextvars.ContextVar("replica", default=None)
# The time of the pins (seconds since the epoch); tests move it on.
clock: Callable[[], float] = time.time
# Until when (time.monotonic) this process leaves the replica alone after a failure.
_down_until = 0.0

PIN_COOKIE = "crm_written"
PIN_SALT = "crm.replica.pin"
CACHE_PREFIX = "crm:replica-pin:"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def alias() -> str:
    """The replica's database alias, or "" when there is none."""
    return settings.REPLICA["ALIAS"]


class ReplicaRouter:
    """Installed with the replica: a heavy read's queries go to the database ``reads`` chose;
    every other read and every write to the primary (an instance read from the replica is
    saved on the primary). Nothing is migrated on the replica: it copies the primary."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return _reading.get() or DEFAULT_DB_ALIAS

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        same = {DEFAULT_DB_ALIAS, alias()}
        return True if {obj1._state.db, obj2._state.db} <= same else None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db == alias() else None


# --- who is pinned ------------------------------------------------------------------------


def _user_id(request: Any) -> int | None:
    """The request's user, when the request has already read it (a session's user is read
    lazily: a request that never asked who it was did not write as anyone)."""
    user = getattr(request, "user", None)
    if type(user) is SimpleLazyObject:
        user = None if user._wrapped is empty else user._wrapped
    return user.pk if user is not None and user.is_authenticated else None


def _account(request: Any) -> str | None:
    """The account of the request's API key (``apikey: <account id>.<secret>``), if any."""
    parts = api_key_parts(request.headers.get("apikey"))
    return parts[0] if parts else None


def _written_keys(request: HttpRequest) -> list[str]:
    """Whose reads a write pins: its user, else the account of the API key used alone."""
    user_id = _user_id(request)
    if user_id is not None:
        return [f"{CACHE_PREFIX}user:{user_id}"]
    account = _account(request)
    return [f"{CACHE_PREFIX}account:{account}"] if account else []


def _reading_keys(request: Any) -> list[str]:
    """The pins a read honours: its user's and its API key's account's."""
    user_id = _user_id(request)
    keys = [f"{CACHE_PREFIX}user:{user_id}"] if user_id else []
    account = _account(request)
    return keys + ([f"{CACHE_PREFIX}account:{account}"] if account else [])


def pinned(request: Any) -> bool:
    """Whether who sends ``request`` wrote less than ``PIN_SECONDS`` ago."""
    seconds = settings.REPLICA["PIN_SECONDS"]
    if PIN_COOKIE in request.COOKIES:
        try:
            request.get_signed_cookie(PIN_COOKIE, salt=PIN_SALT, max_age=seconds)
            return True
        except (BadSignature, KeyError):
            pass
    keys = _reading_keys(request)
    if not keys:
        return False
    try:
        return any(until > clock() for until in cache.get_many(keys).values())
    except Exception as exc:  # a cache that raises (not crm.cache's): the primary is safe
        logger.warning("Replica pins unreadable, reading from the primary: %s", exc)
        return True


def pin(request: HttpRequest, response: HttpResponse) -> None:
    """Pin who made the successful write ``request`` to the primary for ``PIN_SECONDS``."""
    seconds = math.ceil(settings.REPLICA["PIN_SECONDS"])  # caches and cookies count whole seconds
    keys = _written_keys(request)
    if keys:
        try:  # until when; the cache lets the key go a moment later
            cache.set_many(dict.fromkeys(keys, clock() + seconds), timeout=seconds + 1)
        except Exception as exc:  # the write is done: answer it, unpinned
            logger.warning("Replica pin not stored (%s): %s", keys, exc)
    if _user_id(request) is not None and not _account(request):  # a browser's session
        response.set_signed_cookie(
            PIN_COOKIE,
            "1",
            salt=PIN_SALT,
            max_age=seconds,
            httponly=True,
            secure=settings.SESSION_COOKIE_SECURE,
            samesite="Lax",
        )


class PinWriters:
    """Middleware: after a successful write, pin its author to the primary (``pin``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if alias() and request.method in UNSAFE_METHODS and 200 <= response.status_code < 400:
            pin(request, response)
        return response


# --- which database answers ---------------------------------------------------------------


def _down(exc: BaseException) -> None:
    global _down_until
    _down_until = time.monotonic() + settings.REPLICA["RETRY_SECONDS"]
    logger.warning("Read replica unavailable, reading from the primary: %s", exc)


def reads(request: Any) -> str:
    """The database a heavy read of ``request`` goes to: the replica, unless there is none,
    who sends it has just written (``pinned``), or the replica cannot be reached (then the
    primary, for ``RETRY_SECONDS``)."""
    replica = alias()
    if not replica or time.monotonic() < _down_until or pinned(request):
        return DEFAULT_DB_ALIAS
    try:
        connections[replica].ensure_connection()
    except DatabaseError as exc:
        _down(exc)
        return DEFAULT_DB_ALIAS
    return replica


def _request_of(args: tuple) -> Any:
    """A view's request: its first argument, or its second for a method (``self`` first)."""
    return args[0] if hasattr(args[0], "COOKIES") else args[1]


def heavy_read(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Decorator of a read-only view (a function, or a class-based view's ``get``): its
    queries go to the database ``reads`` picks; a database error on the replica reads the
    request again from the primary. A streamed answer reads from the same database as it
    streams (its rows are read after the view has returned)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> HttpResponse:
        if not alias():
            return view(*args, **kwargs)
        chosen = reads(_request_of(args))
        if chosen == DEFAULT_DB_ALIAS:
            return view(*args, **kwargs)
        context = contextvars.copy_context()
        context.run(_reading.set, chosen)
        try:
            response = context.run(view, *args, **kwargs)
        except DatabaseError as exc:
            _down(exc)
            with contextlib.suppress(DatabaseError):
                connections[chosen].close()
            return view(*args, **kwargs)
        if isinstance(response, StreamingHttpResponse):
            response.streaming_content = _streamed_in(context, response.streaming_content)
        return response

    return wrapped


def _streamed_in(context: contextvars.Context, chunks: Iterable[Any]) -> Iterator[Any]:
    """``chunks``, each made inside ``context`` (so with the view's database)."""
    iterator = iter(chunks)
    while True:
        try:
            yield context.run(next, iterator)
        except StopIteration:
            return
