"""The module world of tests/conftest.py: built once for the module, and what a test changes
(rows, and model instances in memory) is gone for the next test."""

from __future__ import annotations

import pytest

from crm.models import User
from crm.roles import Role
from crm.tokens import sign_out_everywhere
from leads.models import Lead
from tests.conftest import build_once, per_test
from tests.factories import LeadFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("module_world")]


@pytest.fixture(scope="module")
def built_lead(cast, django_db_blocker) -> Lead:
    return build_once(
        django_db_blocker, lambda: LeadFactory(by=cast["sales_manager"], first_name="Shared")
    )


@pytest.fixture
def shared_lead(built_lead) -> Lead:
    return per_test(built_lead)


@pytest.mark.parametrize("turn", [1, 2, 3])
def test_each_test_starts_from_the_same_world(api, users, manager, shared_lead, turn):
    assert list(Lead.objects.values_list("pk", "first_name")) == [(shared_lead.pk, "Shared")]
    assert shared_lead.first_name == "Shared"
    assert set(User.objects.values_list("username", flat=True)) >= set(Role.values)
    assert manager.sign_in_version == 0
    assert User.objects.get(pk=manager.pk).sign_in_version == 0
    assert api.get("list/", {"list_type": "all"}).status_code == 200

    LeadFactory(by=manager)
    Lead.objects.filter(pk=shared_lead.pk).update(first_name="Changed")
    shared_lead.first_name = "Changed"
    users[Role.SALESPERSON].first_name = "Changed"
    sign_out_everywhere(manager)
    assert manager.sign_in_version == 1


def test_the_users_are_the_modules_cast(users, cast):
    assert {role: user.pk for role, user in users.items()} == {
        role: user.pk for role, user in cast.items()
    }
    assert all(users[role] is not cast[role] for role in cast)
