"""Per-API-key request limits (SPEC §5): ``RATE_LIMIT_PER_SECOND`` and ``RATE_LIMIT_PER_DAY``.

Every adapter calls ``hit(key)`` once per request, after authenticating the key and before
doing any work, and answers 429 with ``Retry-After`` when the verdict refuses.

Counts live in a store every server process shares, never in process memory:

- ``RATE_LIMIT_STORE = "database"`` (default): one ``RateCounter`` row per key and period
  ("second", "day"), both bumped by one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``
  statement (SQLite >= 3.35, PostgreSQL). The database serializes concurrent statements on the
  rows, so no two requests ever read the same count, whichever process sends them. On
  PostgreSQL the statement is the request's only round trip for its limits (no transaction
  around it), and the table is UNLOGGED: its commit waits for no disk, and a crash only
  resets the counts.
- any other value: the alias of a Django cache whose ``add()`` and ``incr()`` are atomic
  across processes (Redis: "limits" with ``REDIS_URL``). Keys carry their window and expire
  after it. While that Redis is down or unreachable, each call counts in the database instead
  (the limits stay enforced; counts restart there for the windows Redis misses).

Windows: the second is the epoch second; the day is the calendar day in UTC, so a key refused
for the day may call again at the next UTC midnight.

What counts: every request counts against the current second, refused ones included (a client
that keeps hammering stays refused until the next second). Only allowed requests use up the
daily budget: a request refused by the per-second limit gives its unit of the day back in the
same transaction, so no other request ever sees it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.db import connections, router, transaction
from django.db.models import F

from crm.cache import UNAVAILABLE
from crm.logs import warn_now_and_then
from crm.models import ApiKey, RateCounter

logger = logging.getLogger(__name__)

SECOND = "second"
DAY = "day"
DAY_SECONDS = 86_400

# The time source, seconds since the epoch in UTC; tests replace it to pin the windows.
clock: Callable[[], float] = time.time


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    period: str | None  # "second" or "day" when refused, None when allowed
    retry_after: int  # whole seconds to wait (>= 1) when refused, 0 when allowed


ALLOWED = Verdict(allowed=True, period=None, retry_after=0)
REFUSED_FOR_SECOND = Verdict(allowed=False, period=SECOND, retry_after=1)


def hit(api_key: ApiKey) -> Verdict:
    """Count one request of ``api_key`` and decide whether it may proceed.

    Call it outside any transaction, as the API adapters do: the count then commits at once.
    Inside a caller's transaction it commits (or rolls back) with that transaction, and on
    PostgreSQL the key's counters stay locked until then.
    """
    now = clock()
    second, day = int(now), int(now // DAY_SECONDS)
    per_second = settings.CRM["RATE_LIMIT_PER_SECOND"]
    per_day = settings.CRM["RATE_LIMIT_PER_DAY"]
    store = _store()
    if store != "database":
        with _unless_unavailable():
            return _hit_cache(store, api_key.account_id, second, day, per_second, per_day, now)
    return _hit_database(api_key.account_id, second, day, per_second, per_day, now)


def _store() -> str:
    return settings.CRM["RATE_LIMIT_STORE"]


@contextlib.contextmanager
def _unless_unavailable():
    """Around a call to a cache store: when its Redis is down or unreachable, the error is
    logged (once a minute) and swallowed, and the caller goes on to the database store.
    Counts then restart in the database for the windows Redis misses: limits stay enforced,
    never fail open."""
    try:
        yield
    except UNAVAILABLE as exc:
        warn_now_and_then(
            logger, "The request limits' Redis is unavailable (%s); counting in the database.", exc
        )


def _verdict_for_day(day: int, now: float) -> Verdict:
    """Refused until the next UTC midnight."""
    wait = max(1, math.ceil((day + 1) * DAY_SECONDS - now))
    return Verdict(allowed=False, period=DAY, retry_after=wait)


def _decide(
    second_count: int, day_count: int, per_second: int, per_day: int, day: int, now: float
) -> Verdict | None:
    """The verdict, or None when the request is refused for the second (the caller refunds
    its unit of the day first)."""
    if day_count > per_day:
        return _verdict_for_day(day, now)
    if second_count > per_second:
        return None
    return ALLOWED


# -- database store ---------------------------------------------------------------------------


def _columns(vendor_connection) -> tuple[str, str, str, str, str]:
    qn = vendor_connection.ops.quote_name
    meta = RateCounter._meta
    names = ("key", "period", "window", "count")
    return qn(meta.db_table), *(qn(meta.get_field(name).column) for name in names)


def _on_conflict(vendor_connection, limit: str) -> str:
    """A counter's upsert: a row in a new window restarts at 1, a row in the current window
    goes up by one (held at its limit + 1 once refused, so a busy key never overflows the
    column). The window only moves forward, so a server whose clock lags behind another's
    counts into the newer window instead of resetting it."""
    table, key, period, window, count = _columns(vendor_connection)
    return (
        f"ON CONFLICT ({key}, {period}) DO UPDATE SET "
        f"{count} = CASE "
        f"WHEN excluded.{window} > {table}.{window} THEN 1 "
        f"WHEN {table}.{count} > {limit} THEN {table}.{count} "
        f"ELSE {table}.{count} + 1 END, "
        f"{window} = CASE WHEN excluded.{window} > {table}.{window} "
        f"THEN excluded.{window} ELSE {table}.{window} END "
    )


def _upsert_sql(vendor_connection) -> str:
    """Both counters of a key in one statement, whatever the verdict (SQLite)."""
    table, key, period, window, count = _columns(vendor_connection)
    return (
        f"INSERT INTO {table} ({key}, {period}, {window}, {count}) "
        f"VALUES (%s, '{SECOND}', %s, 1), (%s, '{DAY}', %s, 1) "
        + _on_conflict(
            vendor_connection, f"CASE excluded.{period} WHEN '{SECOND}' THEN %s ELSE %s END"
        )
        + f"RETURNING {period}, {count}"
    )


def _postgresql_sql(vendor_connection) -> str:
    """PostgreSQL: the second's counter, then the day's only if the second allows the request,
    in one statement. Refused for the second, the request takes nothing from the day, and the
    day's count is the one it would have reached (so a key out of both hears of the day)."""
    table, key, period, window, count = _columns(vendor_connection)
    return (
        f"WITH s AS (INSERT INTO {table} ({key}, {period}, {window}, {count}) "
        f"VALUES (%(key)s, '{SECOND}', %(second)s, 1) "
        + _on_conflict(vendor_connection, "%(per_second)s")
        + f"RETURNING {count}), "
        f"d AS (INSERT INTO {table} ({key}, {period}, {window}, {count}) "
        f"SELECT %(key)s, '{DAY}', %(day)s, 1 FROM s WHERE s.{count} <= %(per_second)s "
        + _on_conflict(vendor_connection, "%(per_day)s")
        + f"RETURNING {count}) "
        f"SELECT s.{count}, COALESCE((SELECT {count} FROM d), (SELECT {count} + 1 FROM {table} "
        f"WHERE {key} = %(key)s AND {period} = '{DAY}' AND {window} = %(day)s), 1) FROM s"
    )


def _hit_database(
    key: str, second: int, day: int, per_second: int, per_day: int, now: float
) -> Verdict:
    alias = router.db_for_write(RateCounter)
    connection = connections[alias]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            params = {"key": key, "second": second, "day": day}
            cursor.execute(_postgresql_sql(connection),
                           {**params, "per_second": per_second, "per_day": per_day})  # fmt: skip
            second_count, day_count = cursor.fetchone()
        return _decide(second_count, day_count, per_second, per_day, day, now) or (
            REFUSED_FOR_SECOND
        )
    # Its own transaction when called outside one; joined, without a savepoint, inside one.
    with transaction.atomic(using=alias, savepoint=False):
        with connection.cursor() as cursor:
            cursor.execute(_upsert_sql(connection), [key, second, key, day, per_second, per_day])
            counts = dict(cursor.fetchall())
        verdict = _decide(counts[SECOND], counts[DAY], per_second, per_day, day, now)
        if verdict is None:
            # Refused for the second: give the day back while this transaction still holds
            # the row (as the upsert left it), so no concurrent request sees the day too high.
            RateCounter.objects.using(alias).filter(key=key, period=DAY, count__gt=0).update(
                count=F("count") - 1
            )
            verdict = REFUSED_FOR_SECOND
    return verdict


# -- cache store ------------------------------------------------------------------------------


def _incr(cache, name: str, timeout: int) -> int:
    """Atomic on Redis and Memcached (and, within one process only, on LocMemCache, which is
    therefore only fit for tests). The key exists after ``add()``; if it expired in between,
    its window is over anyway and this request starts a new one."""
    cache.add(name, 0, timeout)
    try:
        return cache.incr(name)
    except ValueError:
        cache.add(name, 1, timeout)
        return 1


def _hit_cache(
    alias: str, key: str, second: int, day: int, per_second: int, per_day: int, now: float
) -> Verdict:
    cache = caches[alias]
    second_name = f"crm:rate:{key}:{SECOND}:{second}"
    day_name = f"crm:rate:{key}:{DAY}:{day}"
    second_count = _incr(cache, second_name, timeout=2)
    day_count = _incr(cache, day_name, timeout=DAY_SECONDS - int(now % DAY_SECONDS) + 60)
    verdict = _decide(second_count, day_count, per_second, per_day, day, now)
    if verdict is None:
        with contextlib.suppress(ValueError):  # expired meanwhile: nothing to give back
            cache.decr(day_name)
        verdict = REFUSED_FOR_SECOND
    return verdict


# -- windowed counters for other limits (sign-in failures) ------------------------------------


def count_up(key: str, period: str, window: int, *, seconds: int) -> None:
    """One more in ``key``'s count for ``period`` in ``window`` (a number that only grows;
    the count restarts with each new window), in the store the limits use. ``seconds``: how
    long a window lasts (a cached count expires after it)."""
    store = _store()
    if store != "database":
        with _unless_unavailable():
            _incr(caches[store], f"crm:rate:{key}:{period}:{window}", timeout=seconds + 60)
            return
    connection = connections[router.db_for_write(RateCounter)]
    table, key_column, period_column, window_column, count = _columns(connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({key_column}, {period_column}, {window_column}, {count}) "
            "VALUES (%s, %s, %s, 1) " + _on_conflict(connection, "%s"),
            [key, period, window, 10**6],
        )


def counts(keys: list[str], period: str, window: int) -> dict[str, int]:
    """The counts of ``keys`` for ``period`` in ``window`` (absent: none yet)."""
    store = _store()
    if store != "database":
        names = {f"crm:rate:{key}:{period}:{window}": key for key in keys}
        with _unless_unavailable():
            return {names[name]: n for name, n in caches[store].get_many(list(names)).items()}
    rows = RateCounter.objects.filter(key__in=keys, period=period, window=window)
    return dict(rows.values_list("key", "count"))


def forget(key: str, period: str, window: int) -> None:
    """Drop ``key``'s count for ``period`` (in ``window``, for a cache store)."""
    store = _store()
    if store != "database":
        with _unless_unavailable():
            caches[store].delete(f"crm:rate:{key}:{period}:{window}")
    # Also what the database counted while Redis was down (nothing, most of the time).
    RateCounter.objects.filter(key=key, period=period).delete()
