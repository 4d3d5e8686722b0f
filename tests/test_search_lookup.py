"""The leads search's lookup (leads.selectors.SearchText and search_filter) finds, on both
databases, the leads whose folded text (``leads.search.lead_search_text``: no accents, upper
case, phone numbers as digits) holds every folded word of the search; wildcards stay literal.
Issue 14 made it forgive accents ("Muller" finds "Müller"): tests/test_lead_fields_search.py."""

from __future__ import annotations

import pytest
from django.db import connection

from crm.domain import Actor
from crm.roles import Role
from leads import search, selectors
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
def test_search_finds_the_folded_words(users, term):
    manager = users[Role.SALES_MANAGER]
    for name in NAMES:
        LeadFactory(by=manager, first_name=name, company=f"{name} Ltd")
    found = selectors.lead_list(
        actor=Actor(user=manager), list_type="all", filters={"search": term}
    )
    texts = {
        lead.pk: search.lead_search_text(*(getattr(lead, c) for c in search.COLUMNS))
        for lead in Lead.objects.alive()
    }
    words = search.search_terms(term)
    expected = [pk for pk, text in texts.items() if all(word in text for word in words)]
    assert sorted(found.values_list("pk", flat=True)) == sorted(expected)
    assert expected  # each term is in one of the names


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no trigram indexes; it reads the table"
)
def test_search_is_found_in_the_trigram_index_on_postgresql(users):
    """The search's SQL is the expression of the index migration 0023 builds (PostgreSQL
    uses an expression index only for the very same expression): with the table scan and
    the walk of another index ruled out, the plan reads ``lead_search_column_trgm``."""
    manager = users[Role.SALES_MANAGER]
    LeadFactory(by=manager, first_name="Okafor")
    # The leads search's filter alone: the live leads' partial indexes would serve too.
    found = selectors.LeadFilter({"search": "kafo"}, queryset=Lead.objects.all()).qs
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        plan = found.values("pk").explain()
    assert "lead_search_column_trgm" in plan, plan
    assert [lead.first_name for lead in found] == ["Okafor"]
