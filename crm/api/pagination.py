"""Pages of the REST lists, in the envelope: ``data = {count, next, previous, results}``.

``offset``/``limit`` pages as documented. The leads list (``counted_page``) takes its count
from the caller (the rollup) instead of a ``COUNT(*)``, reads a page's ids first (a "deferred
join": the skipped rows are passed over in an index, never fetched) and then only those rows;
and offers keyset pages too (``cursor``), whose cost does not grow with the depth.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.db.models import QuerySet
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from crm.api.envelope import ok, validation_error
from crm.pagination import (
    MAX_INT,
    bounded_count,
    first_ids,
    in_keyset_order,
    keyset_page,
    offset_rows,
    row_cursor,
    rows_of_ids,
)

CURSOR = "cursor"
CURSOR_ORDERING = "Cursor pages take one of: {}."
AFTER, BEFORE = "a", "b"  # a cursor's first letter: rows after it, or before it


def _count(raw: str, name: str, *, minimum: int) -> int:
    """A whole number of at least ``minimum`` written in ASCII digits, or a 400 naming
    ``name`` (the schema declares these as integers: ``true``, ``1e5`` or ``-1`` are not).
    A number past any row stays one (an offset past the end answers no rows)."""
    if not (raw.isascii() and raw.isdigit()):
        raise validation_error(name, "A valid integer is required.")
    value = int(raw) if len(raw) <= 19 else MAX_INT + 1
    if value < minimum:
        raise validation_error(name, f"Ensure this value is greater than or equal to {minimum}.")
    return value


class EnvelopeLimitOffsetPagination(LimitOffsetPagination):
    """``offset``/``limit`` pages in the envelope: ``data = {count, next, previous, results}``."""

    default_limit = 20
    max_limit = 100

    def get_limit(self, request: Request) -> int:
        """``limit`` (20 when absent or empty, at most 100); 400 when it is not a count."""
        raw = request.query_params.get(self.limit_query_param, "")
        if raw == "":
            return self.default_limit
        return min(_count(raw, self.limit_query_param, minimum=1), self.max_limit)

    def get_offset(self, request: Request) -> int:
        """``offset`` (0 when absent or empty); 400 when it is not a count."""
        raw = request.query_params.get(self.offset_query_param, "")
        return 0 if raw == "" else _count(raw, self.offset_query_param, minimum=0)

    def get_paginated_response(self, data: list) -> Response:
        return ok(
            {
                "count": self.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )


def paginated(view, queryset, serializer_class) -> Response:
    """An offset page of a list with no rollup to count it: counted up to ``COUNT_LIMIT``
    rows (``count_exact`` says whether that was all), read by deferred join."""
    paginator = CountedPagination()
    page = paginator.page(queryset, view.request, count=None)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


class CountedPagination(EnvelopeLimitOffsetPagination):
    """Offset pages of a list whose count is known (``count``, ``exact``) or counted here up
    to a bound (``count`` None, ``bound``), in one query besides the count's: past the first
    page, the rows whose ids an inner query picks from the index (a deferred join). One row
    more than the page tells whether ``next`` is there. A small bound (a search's) that the
    page lies within is counted by the same read: the ids up to it, then the page's rows.

    With ``walk`` (the ``(field, descending)`` order of the list, by ``(field, pk)``), a page
    remembers where the list stands at its first row and after its last one, for
    ``ANCHOR_SECONDS``, in the cache: the next page (or the same page again) starts there, by
    keyset, instead of reading the index up to its offset. ``scope`` names what besides the
    query string decides the rows (the user)."""

    ANCHOR_SECONDS = 600
    # A count of at most this many rows, when the page lies within them, is read as the
    # rows' ids with the page itself: one read of the list instead of two (a search's).
    IDS_COUNT_LIMIT = 100

    def page(
        self,
        queryset: QuerySet,
        request: Request,
        *,
        count: int | None,
        exact: bool = True,
        bound: int | None = None,
        walk: tuple[str, bool] | None = None,
        scope: str = "",
    ) -> list:
        """The page of ``queryset`` the request asks for. ``count`` None: not known, so
        counted here, up to ``bound`` rows (``crm.pagination.COUNT_LIMIT`` by default)."""
        self.request = request
        self.limit = self.get_limit(request)
        self.offset = self.get_offset(request)
        self.more = False
        if walk is not None:
            field, descending = walk
            queryset = in_keyset_order(queryset, field=field, descending=descending)
        if count is None and bound and self.offset + self.limit <= bound <= self.IDS_COUNT_LIMIT:
            ids = first_ids(queryset, bound + 1)
            self.count, self.exact = min(len(ids), bound), len(ids) <= bound
            return self._by_ids(queryset, ids[self.offset : self.offset + self.limit + 1])
        if count is None:
            count, exact = bounded_count(queryset, bound)
        self.count, self.exact = count, exact
        if self.offset > MAX_INT - self.limit - 1 or (exact and self.offset >= count):
            return []
        if walk is None:
            return self._read(queryset, self.offset)
        self._anchors = f"crm:offset:{self._signature(request, scope)}:"
        rows = self._continue(queryset, field, descending) if self.offset else None
        if rows is None:
            start = max(self.offset - 1, 0)
            rows = self._read(queryset, start, extra=self.offset - start)
            if self.offset and self._before is not None:
                cache.set(self._anchors + str(self.offset), row_cursor(self._before, field),
                          self.ANCHOR_SECONDS)  # fmt: skip
        if self.more:
            cache.set(self._anchors + str(self.offset + self.limit), row_cursor(rows[-1], field),
                      self.ANCHOR_SECONDS)  # fmt: skip
        return rows

    def _by_ids(self, queryset: QuerySet, ids: list) -> list:
        """The rows of ``ids`` (the page's, and one more) in their order."""
        self.more = len(ids) > self.limit
        return rows_of_ids(queryset, ids[: self.limit])

    def _read(self, queryset: QuerySet, start: int, extra: int = 0) -> list:
        """The page from ``start``, after ``extra`` rows (kept as ``_before``)."""
        rows = offset_rows(queryset, slice(start, self.offset + self.limit + 1))
        self._before = rows[0] if extra and rows else None
        rows = rows[extra:]
        self.more = len(rows) > self.limit
        return rows[: self.limit]

    def _continue(self, queryset: QuerySet, field: str, descending: bool) -> list | None:
        """The page from the remembered place of its offset, or None."""
        cursor = cache.get(self._anchors + str(self.offset))
        if cursor is None:
            return None
        page = keyset_page(queryset, field=field, descending=descending, size=self.limit,
                           after=cursor)  # fmt: skip
        if not page.rows:
            return None  # the rows there are gone: count the offset again
        self.more = page.next_cursor is not None
        return page.rows

    def _signature(self, request: Request, scope: str) -> str:
        ignored = {self.offset_query_param, self.limit_query_param}
        params = sorted((k, v) for k, v in request.query_params.lists() if k not in ignored)
        return hashlib.sha256(repr((scope, params)).encode()).hexdigest()[:32]

    def get_next_link(self) -> str | None:
        if not self.more:
            return None
        url = self.request.build_absolute_uri()
        url = replace_query_param(url, self.limit_query_param, self.limit)
        return replace_query_param(url, self.offset_query_param, self.offset + self.limit)

    def get_paginated_response(self, data: list) -> Response:
        response = super().get_paginated_response(data)
        response.data["data"]["count_exact"] = self.exact
        return response


def keyset_order(ordering: str | None, fields: dict[str, str]) -> tuple[str, bool] | None:
    """The one field of ``fields`` (and its direction) ``ordering`` names (``-id`` when
    empty), or None when it names several or another."""
    name = (ordering or "-id").strip()
    if "," in name or name.lstrip("-") not in fields:
        return None
    return fields[name.lstrip("-")], name.startswith("-")


def _cursor_ordering(ordering: str | None, fields: dict[str, str]) -> tuple[str, bool]:
    """The one field (and its direction) a cursor page is ordered by."""
    order = keyset_order(ordering, fields)
    if order is None:
        choices = ", ".join(sorted(fields))
        raise validation_error("ordering", CURSOR_ORDERING.format(choices))
    return order


def cursor_page(
    request: Request,
    queryset: QuerySet,
    serializer_class,
    *,
    fields: dict[str, str],
    count: int,
    exact: bool,
) -> Response:
    """A keyset page: ``cursor`` empty for the first page, then the value of a page's ``next``
    or ``previous`` link. Ordered by one of ``fields`` (``ordering``, ``-`` for descending;
    newest first by default); the database starts at the cursor, so every page costs what the
    first one does."""
    paginator = EnvelopeLimitOffsetPagination()
    limit = paginator.get_limit(request)
    paginator.get_offset(request)  # not read here, but refused as anywhere when it is no count
    field, descending = _cursor_ordering(request.query_params.get("ordering"), fields)
    token = request.query_params.get(CURSOR, "")
    after = token[1:] if token[:1] == AFTER else None
    before = token[1:] if token[:1] == BEFORE else None
    page = keyset_page(
        queryset, field=field, descending=descending, size=limit, after=after, before=before
    )
    url = remove_query_param(request.build_absolute_uri(), "offset")

    def link(prefix: str, cursor: str | None) -> str | None:
        return replace_query_param(url, CURSOR, prefix + cursor) if cursor else None

    return ok(
        {
            "count": count,
            "next": link(AFTER, page.next_cursor),
            "previous": link(BEFORE, page.previous_cursor),
            "results": serializer_class(page.rows, many=True).data,
            "count_exact": exact,
        }
    )
