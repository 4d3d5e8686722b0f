"""The leads search's lookup (leads.selectors.SearchContains) finds what ``icontains`` finds,
on both databases, though on PostgreSQL it upper-cases the term once instead of per row."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Q

from crm.domain import Actor
from crm.roles import Role
from leads import selectors
from leads.models import Lead
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

NAMES = ["Straße", "Müller", "MÜLLER", "ǆemal", "50% off", "under_score", "back\\slash", "Okafor"]
TERMS = [
    "straße",
    "STRASSE",
    "müller",
    "Muller",
    "Ǆ",
    "50%",
    "%",
    "_",
    "r_s",
    "\\",
    "okaf",
    "ok af",
]


@pytest.mark.parametrize("term", TERMS)
def test_search_finds_what_icontains_finds(users, term):
    manager = users[Role.SALES_MANAGER]
    for name in NAMES:
        LeadFactory(by=manager, first_name=name, company=f"{name} Ltd")
    found = selectors.lead_list(
        actor=Actor(user=manager), list_type="all", filters={"search": term}
    )
    expected = Lead.objects.alive()
    for word in term.split():
        expected = expected.filter(
            Q(first_name__icontains=word) | Q(last_name__icontains=word)
            | Q(email__icontains=word) | Q(phone__icontains=word)
            | Q(company__icontains=word)
        )  # fmt: skip
    assert sorted(found.values_list("pk", flat=True)) == sorted(
        expected.values_list("pk", flat=True)
    )


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no trigram indexes; it reads the table"
)
def test_search_is_found_in_the_trigram_index_on_postgresql(users):
    """The search's SQL is the expression of the index migration 0016 builds (PostgreSQL
    uses an expression index only for the very same expression): with the table scan and
    the walk of another index ruled out, the plan reads ``lead_search_trgm``."""
    manager = users[Role.SALES_MANAGER]
    LeadFactory(by=manager, first_name="Okafor")
    # The leads search's filter alone: the live leads' partial indexes would serve too.
    found = selectors.LeadFilter({"search": "kafo"}, queryset=Lead.objects.all()).qs
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        plan = found.values("pk").explain()
    assert "lead_search_trgm" in plan, plan
    assert [lead.first_name for lead in found] == ["Okafor"]
