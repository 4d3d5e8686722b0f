"""Keyset ("cursor") pages for the web app's long lists.

A page is the rows after (or before) the last row seen, in a total order ``(field, id)``: the
database walks an index from the cursor and stops after one page, so page 10,000 costs what
page 1 costs. No ``COUNT(*)`` and no ``OFFSET`` scan that grows with the table.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime


@dataclass(frozen=True)
class Page:
    rows: list[Any]  # model instances, or ``values_list(named=True)`` rows with the pk's column
    next_cursor: str | None
    previous_cursor: str | None

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.previous_cursor)


def _encode(value: Any, pk: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Larger than any cursor of ours (a 255-character value, JSON-escaped, in base64).
MAX_CURSOR = 4096
MAX_INT = 2**63 - 1  # the largest integer a database column holds
INTEGER_FIELDS = frozenset(
    {"AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField",
     "SmallIntegerField", "PositiveIntegerField", "PositiveBigIntegerField",
     "PositiveSmallIntegerField"}
)  # fmt: skip
COUNT_LIMIT = 1_000  # rows a list counts, at most, when nothing cheaper knows its size
# ... and when the list is a substring search: each row costs a substring test, and a common
# word matches a tenth of the table (of what a salesperson sees, a fortieth), so counting 1,000
# matches reads 10,000 rows (40,000), and even 100 cost a search twice its page of 20.
SEARCH_COUNT_LIMIT = 50


def bounded_count(queryset: QuerySet, limit: int | None = None) -> tuple[int, bool]:
    """``(count, exact)`` of a list's rows, counting at most ``limit`` (``COUNT_LIMIT``) of
    them: past that, the count is ``limit`` and ``exact`` False. Its cost never grows with
    the table."""
    limit = COUNT_LIMIT if limit is None else limit
    n = queryset.order_by().values("pk")[: limit + 1].count()
    return min(n, limit), n <= limit


def _storable(value: str) -> bool:
    """A text the database can compare: no NUL (PostgreSQL refuses it), no lone surrogate."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def _comparable(value: Any) -> bool:
    """A text or an integer the database can compare with a column's values."""
    if isinstance(value, str):
        return _storable(value)
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_INT


def _decode(cursor: str, *, is_datetime: bool, is_integer: bool = False) -> tuple[Any, int] | None:
    """The (value, id) a cursor names, or None for a cursor that is not one of ours (or of
    another order: a text where the field is an integer)."""
    if len(cursor) > MAX_CURSOR:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        return None
    if not isinstance(pk, int) or isinstance(pk, bool) or abs(pk) > MAX_INT:
        return None
    if is_datetime:
        try:
            value = parse_datetime(value) if isinstance(value, str) else None
            if value is not None and timezone.is_naive(value):
                value = timezone.make_aware(value)
            if value is not None:
                value = value.astimezone(UTC)  # a time the database can store
        except (ValueError, OverflowError):
            value = None
        if value is None:
            return None
    elif not _comparable(value) or (is_integer and not isinstance(value, int)):
        return None
    return value, pk


def row_cursor(row: Model, field: str) -> str:
    """The cursor of ``row`` in an order by ``(field, pk)``: ``after`` it gives the next rows."""
    attname = getattr(row._meta.get_field(field), "attname", field)
    return _encode(getattr(row, attname), row.pk)


def keyset_page(
    queryset: QuerySet,
    *,
    field: str,
    descending: bool,
    size: int,
    after: str | None = None,
    before: str | None = None,
) -> Page:
    """One page of ``queryset`` ordered by ``(field, pk)``, both ascending or both descending:
    instances, or named rows of a ``values_list(named=True)`` that holds ``field`` and the pk.

    ``after`` continues past a page's last row, ``before`` goes back before a page's first row.
    An unreadable cursor gives the first page.
    """
    model_field = queryset.model._meta.get_field(field)
    attname = getattr(model_field, "attname", field)
    kind = model_field.get_internal_type()
    is_datetime = kind == "DateTimeField"
    is_integer = kind in INTEGER_FIELDS
    sign = "-" if descending else ""
    forward = [f"{sign}{attname}", f"{sign}pk"]
    backward = [f"{'' if descending else '-'}{attname}", f"{'' if descending else '-'}pk"]

    def beyond(cursor: str, *, going_forward: bool) -> Q | None:
        decoded = _decode(cursor, is_datetime=is_datetime, is_integer=is_integer)
        if decoded is None:
            return None
        value, pk = decoded
        greater = going_forward != descending
        op = "gt" if greater else "lt"
        # (field, pk) beyond (value, pk), spelled so the field's index bounds the range scan.
        return Q(**{f"{attname}__{op}e": value}) & (
            Q(**{f"{attname}__{op}": value}) | Q(**{f"pk__{op}": pk})
        )

    pk_name = queryset.model._meta.pk.attname

    def cursor_of(row: Any) -> str:
        pk = row.pk if isinstance(row, Model) else getattr(row, pk_name)
        return _encode(getattr(row, attname), pk)

    condition = beyond(before, going_forward=False) if before else None
    if condition is not None:
        rows = list(queryset.filter(condition).order_by(*backward)[: size + 1])
        more = len(rows) > size
        rows = rows[:size][::-1]
        return Page(
            rows=rows,
            next_cursor=cursor_of(rows[-1]) if rows else None,
            previous_cursor=cursor_of(rows[0]) if more else None,
        )
    condition = beyond(after, going_forward=True) if after else None
    qs = queryset.filter(condition) if condition is not None else queryset
    rows = list(qs.order_by(*forward)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return Page(
        rows=rows,
        next_cursor=cursor_of(rows[-1]) if more else None,
        previous_cursor=cursor_of(rows[0]) if condition is not None and rows else None,
    )


def in_keyset_order(queryset: QuerySet, *, field: str, descending: bool) -> QuerySet:
    """``queryset`` ordered by ``(field, pk)``, both ascending or both descending: the order
    ``keyset_page`` walks and ``row_cursor`` names a place in."""
    sign = "-" if descending else ""
    return queryset.order_by(f"{sign}{field}", f"{sign}pk")


def first_ids(queryset: QuerySet, limit: int) -> list:
    """The ids of the first ``limit`` rows of ``queryset``, in its order: one query."""
    return list(queryset.values_list("pk", flat=True)[:limit])


def rows_of_ids(queryset: QuerySet, ids: list) -> list[Model]:
    """The rows of ``queryset`` with these ids, in the ids' order: one query (none for no
    ids)."""
    found = {row.pk: row for row in queryset.order_by().filter(pk__in=ids)} if ids else {}
    return [found[pk] for pk in ids if pk in found]


def offset_rows(queryset: QuerySet, window: slice) -> list[Model]:
    """The rows of ``window`` (an offset and a stop) of ``queryset``: past the first row, by a
    deferred join (an inner query picks the window's ids from the index, the outer one reads
    only those rows), so the rows skipped are never fetched. One query."""
    if window.start:
        return list(queryset.filter(pk__in=queryset.values("pk")[window]))
    return list(queryset[window])
