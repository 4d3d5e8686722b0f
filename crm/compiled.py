"""Reads whose SQL Django compiles once per process, then runs again with new values.

Compiling a queryset to SQL costs more than running a small indexed query: about 0.7 ms for
the API key lookup, every request, before the database sees it. The reads every request makes
(the API key and token user, the session and its user, the choice lists of every form) have a
fixed shape: the same tables, joins and conditions; only the values change. So
``CompiledRead`` builds the queryset once with a marker for each value, compiles it, finds the
markers among the SQL's parameters, and from then on only puts the request's values in their
places. The rows come back as model instances, with ``select_related`` relations and
annotations set, as the queryset itself would give them (``tests/test_compiled.py`` holds the
two equal on both databases).

Only for reads whose shape never depends on the values: a value that changes the SQL (None
instead of a value, a list of another length) needs a read of its own.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators
from django.db.models.sql.constants import MULTI


def marker(kind: type, n: int = 0) -> Any:
    """A value of ``kind`` no real parameter has, standing for the ``n``-th one."""
    if kind is int:  # negative, and within any integer column's range (Django turns a
        return -2_000_000_000 - n  # lookup past it into an empty query)
    if kind is str:
        return f"\x00compiled:{n}\x00"
    if kind is datetime:
        return datetime(1901, 2, 3, 4, 5, 6, 100_000 + n, tzinfo=UTC)
    raise ImproperlyConfigured(f"A compiled read takes int, str and datetime values, not {kind}.")


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Statement:
    """SQL compiled once with ``marker`` values among its parameters, bound again with real
    ones: for what a ``CompiledRead`` does not give, a statement made of compiled parts (a
    UNION of limited subqueries) read as plain tuples. ``places`` maps a parameter's position
    to the name of the value it takes."""

    sql: str
    params: tuple
    places: dict[int, str]

    @classmethod
    def of(cls, sql: str, params: Sequence[Any], **markers: Any) -> Statement:
        places = {
            i: name
            for i, value in enumerate(params)
            for name, mark in markers.items()
            if type(value) is type(mark) and value == mark
        }
        return cls(sql, tuple(params), places)

    def bind(self, **values: Any) -> list[Any]:
        """The parameters, with ``values`` (by name) in their places."""
        return [
            values[self.places[i]] if i in self.places else value
            for i, value in enumerate(self.params)
        ]


class CompiledRead:
    """``CompiledRead(Model, build, a=int, b=str, c=datetime)(a=..., b=..., c=...)``: the
    instances ``build(a=..., b=..., c=...)`` gives, as a list (or tuples, when it ends with
    ``values_list()``). ``build`` returns the queryset of ``Model`` for the given values and
    must pass each value to the query unchanged (as a lookup's right-hand side), once or
    more; anything else it reads (the time, a setting) is fixed at the first call. A read of a
    fixed list takes no values."""

    def __init__(self, model: type[Model], build: Callable[..., QuerySet], **kinds: type) -> None:
        self.model = model
        self.build = build
        self.kinds = kinds
        self._compiled: dict[str, tuple] = {}
        self._lock = threading.Lock()

    def _compile(self, alias: str):
        markers = {name: marker(kind, n) for n, (name, kind) in enumerate(self.kinds.items())}
        queryset = self.build(**markers)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        # Where each value goes, and how it is written there: as it is, or as the database
        # adapter writes a moment (SQLite keeps it as text).
        places: dict[str, tuple[Callable[[Any], Any], list[int]]] = {}
        for name, mark in markers.items():
            adapt = _same
            if isinstance(mark, datetime):
                adapt = connections[alias].ops.adapt_datetimefield_value
            for how in (_same, adapt):
                found = [i for i, value in enumerate(params) if value == how(mark)]
                if found:
                    places[name] = (how, found)
                    break
        missing = [name for name in markers if name not in places]
        if missing:
            raise ImproperlyConfigured(
                f"{self.build.__qualname__}: the values {missing} do not reach the SQL "
                "unchanged, so this read cannot be compiled once."
            )
        if queryset._iterable_class not in (ModelIterable, ValuesListIterable):
            raise ImproperlyConfigured(
                f"{self.build.__qualname__}: a compiled read gives instances or "
                "values_list() tuples (not flat, named or dict rows)."
            )
        as_tuples = queryset._iterable_class is ValuesListIterable
        return compiler, sql, tuple(params), places, queryset._fetch_mode, as_tuples

    def __call__(self, **values: Any) -> list[Model]:
        alias = router.db_for_read(self.model)
        compiled = self._compiled.get(alias)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.setdefault(alias, self._compile(alias))
        base, sql, params, places, fetch_mode, as_tuples = compiled
        bound = list(params)
        for name, (how, positions) in places.items():
            value = how(values[name])
            for position in positions:
                bound[position] = value
        compiler = copy.copy(base)
        compiler.connection = connections[alias]  # this thread's connection
        compiler.as_sql = lambda *args, **kwargs: (sql, tuple(bound))
        if as_tuples:
            return list(compiler.results_iter(compiler.execute_sql(MULTI), tuple_expected=True))
        return list(_instances(compiler, alias, fetch_mode))


def _instances(compiler, alias: str, fetch_mode):
    """What Django's ``ModelIterable`` makes of a compiler's rows."""
    results = compiler.execute_sql(MULTI)
    select, klass_info = compiler.select, compiler.klass_info
    annotations = compiler.annotation_col_map
    model = klass_info["model"]
    fields = klass_info["select_fields"]
    start, end = fields[0], fields[-1] + 1
    names = [column[0].target.attname for column in select[start:end]]
    populators = get_related_populators(klass_info, select, alias, fetch_mode)
    for row in compiler.results_iter(results):
        obj = model.from_db(alias, names, row[start:end], fetch_mode=fetch_mode)
        for populator in populators:
            populator.populate(row, obj)
        for name, position in annotations.items():
            setattr(obj, name, row[position])
        yield obj
