"""Pinned query counts: every list and view endpoint runs a fixed number of queries, however
many leads, notes and appointments there are."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import AppointmentFactory, LeadFactory, NoteFactory

pytestmark = pytest.mark.django_db


def grow(manager, salesperson, n: int) -> list:
    """``n`` more leads, each with two notes and an appointment, half of them assigned."""
    leads = []
    for i in range(n):
        lead = LeadFactory(by=manager, owner=manager, assignee=salesperson if i % 2 else None)
        NoteFactory(lead=lead, by=manager)
        NoteFactory(lead=lead, by=salesperson if i % 2 else manager)
        start = timezone.now() + timedelta(days=1 + i)
        AppointmentFactory(lead=lead, by=manager, start=start, end=start + timedelta(hours=1))
        leads.append(lead)
    return leads


@pytest.fixture
def warm(api):
    """The first request records the key's last-used time; later ones only read it."""
    api.get("overview/")
    return api


# Queries of every authenticated request: the API key, the token's user, then the key's rate
# counters (one statement, with no transaction around it on PostgreSQL).
AUTH = 3


@pytest.mark.parametrize("n", [1, 8])
def test_lead_list(warm, manager, salesperson, django_assert_num_queries, n):
    grow(manager, salesperson, n)
    # + the count (from the rollup), + one SELECT of the page joined to owner and assignee
    with django_assert_num_queries(AUTH + 2):
        response = warm.get("list/", {"list_type": "all", "limit": 100})
    assert response.json()["data"]["count"] == n


@pytest.mark.parametrize("n", [2, 8])
def test_lead_list_with_filters(warm, manager, salesperson, django_assert_num_queries, n):
    grow(manager, salesperson, n)
    params = {
        "list_type": "all",
        "assignee": salesperson.username,
        "search": "Lead",
        "ordering": "-created_at",
    }
    with django_assert_num_queries(AUTH + 2):
        response = warm.get("list/", params)
    assert response.json()["data"]["count"] == n // 2


@pytest.mark.parametrize("n", [1, 8])
def test_appointment_list(warm, manager, salesperson, django_assert_num_queries, n):
    grow(manager, salesperson, n)
    # + COUNT, + the page joined to lead and host
    with django_assert_num_queries(AUTH + 2):
        response = warm.get("appointments/list/", {"limit": 100})
    assert response.json()["data"]["count"] == n


@pytest.mark.parametrize("notes", [0, 10])
def test_lead_view(warm, manager, salesperson, django_assert_num_queries, notes):
    lead = grow(manager, salesperson, 1)[0]
    for _ in range(notes):
        NoteFactory(lead=lead, by=manager)
        AppointmentFactory(lead=lead, by=manager)
    # + the lead joined to owner, assignee, status, source; + its notes with authors;
    # + its appointments with hosts
    with django_assert_num_queries(AUTH + 3):
        response = warm.get("view/lead/", {"slug": lead.slug})
    assert len(response.json()["data"]["notes"]) == 2 + notes


@pytest.mark.parametrize("n", [1, 8])
def test_overview(warm, manager, salesperson, django_assert_num_queries, n):
    grow(manager, salesperson, n)
    # + counts by status and source (from the rollup), + the statuses, + the sources,
    # + the upcoming appointments joined to their leads
    with django_assert_num_queries(AUTH + 4):
        response = warm.get("overview/")
    assert response.json()["data"]["TotalLeads"] == n
    assert len(response.json()["data"]["appointments"]) == n
