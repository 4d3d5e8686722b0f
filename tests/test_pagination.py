"""crm.pagination: keyset pages over (field, id), and the cursors that name them."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from crm.pagination import _decode, _encode, keyset_page
from leads.models import Lead
from tests.conftest import build_once, per_test
from tests.factories import LeadFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("module_world")]


def forge(*parts) -> str:
    """A cursor spelled as ours are, holding anything."""
    raw = json.dumps(list(parts)).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    ("value", "is_datetime"),
    [
        ("Smith", False),
        ("", False),
        ("Zoë “quoted” ünïcode", False),
        (42, False),
        (datetime(2024, 2, 29, 13, 5, 7, 123456, tzinfo=UTC), True),
    ],
)
def test_cursors_round_trip(value, is_datetime):
    cursor = _encode(value, 1234)
    assert "=" not in cursor and "/" not in cursor and "+" not in cursor  # URL-safe
    assert _decode(cursor, is_datetime=is_datetime) == (value, 1234)


def test_a_naive_datetime_cursor_is_read_in_the_current_time_zone():
    value, pk = _decode(forge("2024-01-02T03:04:05", 7), is_datetime=True)
    assert timezone.is_aware(value) and pk == 7
    assert value == timezone.make_aware(datetime(2024, 1, 2, 3, 4, 5))  # noqa: DTZ001


GARBAGE = [
    "",
    "!!!",
    "not base64 at all",
    "WW",  # base64 of nothing useful
    base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(),  # not UTF-8
    forge(),
    forge("Smith"),
    forge("Smith", 1, 2),
    forge("Smith", "1"),
    forge("Smith", None),
    forge("Smith", True),
    forge("Smith", 1.5),
    forge("Smith", 2**63),
    forge(["nested"], 1),
    forge({"a": 1}, 1),
    forge(None, 1),
    forge(True, 1),
    forge(1.5, 1),
    forge(10**30, 1),  # no database integer holds it
    forge(-(10**30), 1),
    forge("a\x00b", 1),  # PostgreSQL refuses NUL in text
    forge("\ud800", 1),  # a lone surrogate: not encodable
    "W" * 5000,  # longer than any cursor of ours
    base64.urlsafe_b64encode(b'{"a": 1}').decode(),
    base64.urlsafe_b64encode(b"[1, 2").decode(),
]
GARBAGE_DATETIMES = [
    forge("yesterday", 1),
    forge("2024-13-45T99:99:99", 1),  # parse_datetime raises ValueError
    forge(1700000000, 1),
    forge("9999-12-31T23:59:59-14:00", 1),  # beyond the year 9999 in UTC
    forge("0001-01-01T00:00:00+14:00", 1),  # before the year 1 in UTC
]


@pytest.mark.parametrize("cursor", GARBAGE)
def test_garbage_cursors_decode_to_nothing(cursor):
    assert _decode(cursor, is_datetime=False) is None


@pytest.mark.parametrize("cursor", GARBAGE + GARBAGE_DATETIMES)
def test_garbage_datetime_cursors_decode_to_nothing(cursor):
    assert _decode(cursor, is_datetime=True) is None


@pytest.fixture(scope="module")
def built_leads(module_world, django_db_blocker):
    return build_once(
        django_db_blocker,
        lambda: [LeadFactory(last_name=["Brown", "Adams", "Clark"][i % 3]) for i in range(9)],
    )


@pytest.fixture
def leads(built_leads):
    """Nine leads in three last names, so the sort column has ties (built once for the module,
    a copy for each test)."""
    return per_test(built_leads)


def walk(qs, *, field, descending, size):
    """Every page forwards from the first, then every page backwards from the last."""
    pages = [keyset_page(qs, field=field, descending=descending, size=size)]
    while pages[-1].next_cursor:
        cursor = pages[-1].next_cursor
        pages.append(keyset_page(qs, field=field, descending=descending, size=size, after=cursor))
    back = [pages[-1]]
    while back[-1].previous_cursor:
        cursor = back[-1].previous_cursor
        back.append(keyset_page(qs, field=field, descending=descending, size=size, before=cursor))
    return pages, back[::-1]


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("size", [1, 2, 4, 9, 20])
def test_ties_are_ordered_by_id_without_skipping_or_repeating(leads, descending, size):
    qs = Lead.objects.all()
    expected = sorted(leads, key=lambda lead: (lead.last_name, lead.pk), reverse=descending)
    pages, back = walk(qs, field="last_name", descending=descending, size=size)

    seen = [lead.pk for page in pages for lead in page.rows]
    assert seen == [lead.pk for lead in expected]
    assert len(pages) == max(1, -(-len(leads) // size))
    assert all(len(page.rows) == size for page in pages[:-1])
    assert pages[0].previous_cursor is None and pages[-1].next_cursor is None
    # Going back page by page shows the same pages again.
    assert [[r.pk for r in p.rows] for p in back] == [[r.pk for r in p.rows] for p in pages]


@pytest.mark.parametrize("descending", [False, True])
def test_ties_in_a_datetime_column(leads, descending):
    same = timezone.now() - timedelta(days=1)
    Lead.objects.filter(pk__in=[lead.pk for lead in leads[2:7]]).update(created_at=same)
    rows = {lead.pk: lead.created_at for lead in Lead.objects.all()}
    expected = sorted(rows, key=lambda pk: (rows[pk], pk), reverse=descending)
    pages, back = walk(Lead.objects.all(), field="created_at", descending=descending, size=2)
    assert [lead.pk for page in pages for lead in page.rows] == expected
    assert [[r.pk for r in p.rows] for p in back] == [[r.pk for r in p.rows] for p in pages]


def test_a_foreign_key_column_is_walked_by_its_key(leads):
    Lead.objects.filter(pk__in=[lead.pk for lead in leads[:4]]).update(status_id="closed")
    pages, _ = walk(Lead.objects.all(), field="status", descending=False, size=3)
    seen = [(lead.status_id, lead.pk) for page in pages for lead in page.rows]
    assert seen == sorted(seen)
    assert len(seen) == len(leads)


@pytest.mark.parametrize(
    ("field", "cursor"),
    [("last_name", c) for c in GARBAGE]
    + [("status", c) for c in GARBAGE]
    + [("created_at", c) for c in GARBAGE + GARBAGE_DATETIMES]
    # a text (say, another order's cursor) where the field is an integer
    + [("id", c) for c in GARBAGE + [forge("Smith", 1), forge("2024-01-02T03:04:05", 1)]],
)
@pytest.mark.parametrize("direction", ["after", "before"])
def test_garbage_cursors_give_the_first_page(leads, cursor, direction, field):
    qs = Lead.objects.all()
    first = keyset_page(qs, field=field, descending=True, size=4)
    page = keyset_page(qs, field=field, descending=True, size=4, **{direction: cursor})
    assert [r.pk for r in page.rows] == [r.pk for r in first.rows]
    assert page.previous_cursor is None
    assert page.next_cursor == first.next_cursor


def test_a_cursor_past_the_end_gives_an_empty_page(leads):
    page = keyset_page(
        Lead.objects.all(), field="last_name", descending=False, size=4, after=_encode("Zzz", 0)
    )
    assert page.rows == [] and page.next_cursor is None


def test_empty_queryset(db):
    page = keyset_page(Lead.objects.none(), field="created_at", descending=True, size=5)
    assert page.rows == [] and not page.has_other_pages


def test_has_other_pages(leads):
    qs = Lead.objects.all()
    assert keyset_page(qs, field="last_name", descending=False, size=4).has_other_pages
    assert not keyset_page(qs, field="last_name", descending=False, size=9).has_other_pages


def test_a_page_is_one_query(leads, django_assert_num_queries):
    first = keyset_page(Lead.objects.all(), field="last_name", descending=False, size=3)
    with django_assert_num_queries(1):
        keyset_page(
            Lead.objects.all(),
            field="last_name",
            descending=False,
            size=3,
            after=first.next_cursor,
        )
