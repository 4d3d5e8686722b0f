"""Issue 14, items 2, 3, 7 and 10 (their lead parts): every stored lead field on the lead page
and in its edit form, a search that forgives accents and phone formats (on SQLite and on
PostgreSQL, where the trigram index keeps answering it), every error of the lead form at once,
and merge defaults that take the non-empty value."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.urls import reverse

from crm.domain import Actor
from crm.roles import Role
from leads import search, selectors
from leads.models import Lead
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def _found(actor_user, term: str) -> set[str]:
    leads = selectors.lead_list(
        actor=Actor(user=actor_user), list_type="all", filters={"search": term}
    )
    return set(leads.values_list("last_name", flat=True))


# --- the rules, pure ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Müller", "MULLER"),
        ("München", "MUNCHEN"),
        ("Straße", "STRASSE"),
        ("São Paulo", "SAO PAULO"),
        ("Øresund Łódź", "ORESUND LODZ"),
        ("Ærø", "AERO"),
        ("plain", "PLAIN"),
    ],
)
def test_fold_drops_accents_and_case(text, folded):
    assert search.fold(text) == folded


@pytest.mark.parametrize(
    ("typed", "terms"),
    [
        ("555-607-9806", ["5556079806"]),
        ("(555) 607 9806", ["5556079806"]),
        ("+1 555 607 9806", ["5556079806"]),
        ("+1 (555) 607-9806", ["5556079806"]),
        ("1-555-607-9806", ["5556079806"]),
        ("+49 89 1234567", ["891234567"]),
        ("0049 89 1234567", ["891234567"]),
        ("089 / 123 45 67", ["891234567"]),
        ("Muller 555-607-9806", ["MULLER", "5556079806"]),
        ("Room 12", ["ROOM", "12"]),
        ("a b c d e f g", ["A", "B", "C", "D", "E"]),
    ],
)
def test_search_terms_read_typed_phone_numbers_as_digits(typed, terms):
    assert search.search_terms(typed) == terms


# --- the search, on the database the suite runs on ---------------------------------------------


@pytest.fixture
def stored(users):
    """Leads of a sales manager with what a CSV import stores: phones as digits or formatted,
    names and cities with accents."""
    manager = users[Role.SALES_MANAGER]
    LeadFactory(
        by=manager,
        first_name="Jürgen",
        last_name="Müller",
        phone="",
        mobile_phone="5556079806",
        city="München",
        company="Bäckerei Groß",
    )
    lead = LeadFactory(by=manager, first_name="Ana", last_name="Muller", phone="4155550123")
    # Stored formatted, as a partner wrote it before phones were kept as digits.
    Lead.objects.filter(pk=lead.pk).update(office_phone="+1 (212) 555-0199")
    LeadFactory(by=manager, first_name="Ola", last_name="Nordmann", city="Tromsø")
    return manager


@pytest.mark.parametrize(
    ("term", "found"),
    [
        ("München", {"Müller"}),
        ("munchen", {"Müller"}),
        ("MÜNCHEN", {"Müller"}),
        ("Muller", {"Müller", "Muller"}),
        ("müller", {"Müller", "Muller"}),
        ("jurgen muller", {"Müller"}),
        ("backerei gross", {"Müller"}),
        ("Tromso", {"Nordmann"}),
        # the mobile number, typed in every way people type it
        ("555-607-9806", {"Müller"}),
        ("(555) 607 9806", {"Müller"}),
        ("+1 555 607 9806", {"Müller"}),
        ("5556079806", {"Müller"}),
        ("607-9806", {"Müller"}),
        # a number stored formatted, found as digits and formatted another way
        ("2125550199", {"Muller"}),
        ("212.555.0199", {"Muller"}),
        ("+1 212 555 0199", {"Muller"}),
        ("(415) 555-0123", {"Muller"}),
        ("Muller 415-555-0123", {"Muller"}),
        ("nobody", set()),
        ("555-000-0000", set()),
    ],
)
def test_search_forgives_accents_and_phone_formats(stored, term, found):
    assert _found(stored, term) == found


def test_search_keeps_its_wildcards_literal(users):
    manager = users[Role.SALES_MANAGER]
    LeadFactory(by=manager, last_name="50% off", company="under_score")
    LeadFactory(by=manager, last_name="Fifty", company="underscore")
    assert _found(manager, "50%") == {"50% off"}
    assert _found(manager, "r_s") == {"50% off"}


def test_search_finds_only_leads_the_salesperson_sees(stored, users):
    salesperson = users[Role.SALESPERSON]
    assert _found(salesperson, "Muller") == set()
    LeadFactory(by=salesperson, first_name="Zoë", last_name="Müller-Lüdenscheidt")
    assert _found(salesperson, "zoe muller") == {"Müller-Lüdenscheidt"}


def test_the_leads_page_searches_the_city_and_mobile_number(stored, client, users):
    salesperson = users[Role.SALESPERSON]
    LeadFactory(by=salesperson, last_name="Weiß", city="Köln", mobile_phone="4915112345678")
    client.force_login(salesperson)
    for term in ("Koln", "köln", "+49 151 12345678", "0151 1234 5678", "weiss"):
        page = client.get(reverse("leads:list"), {"q": term, "search": term})
        assert page.status_code == 200
        assert "Weiß" in page.content.decode(), term


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no trigram indexes; it reads the table"
)
def test_the_folded_search_reads_the_trigram_index_on_postgresql(stored):
    """The search's SQL is the expression of the index migration 0023 builds (PostgreSQL uses
    an expression index only for the very same expression): with the table scan and the walk
    of another index ruled out, the plan reads ``lead_search_column_trgm``, for words and for
    phone numbers."""
    for term in ("munchen", "(555) 607-9806"):
        found = selectors.LeadFilter({"search": term}, queryset=Lead.objects.all()).qs
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
            plan = found.values("pk").explain()
        assert "lead_search_column_trgm" in plan, plan
        assert [lead.last_name for lead in found] == ["Müller"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="unaccent is PostgreSQL's")
@pytest.mark.parametrize(
    "text", ["Müller", "München", "Straße", "São Paulo", "Øresund Łódź", "Ærø", "Ǆemal", "Ñandú"]
)
def test_postgresql_folds_as_python_does(text):
    """The lead's side is folded by PostgreSQL's unaccent, the search's by ``search.fold``:
    the two agree on the letters people write."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT crm_lead_search(%s, '', '', '', '', '', '', '')", [text])
        (folded,) = cursor.fetchone()
    assert folded.split(" ")[0 : len(text.split())] == search.fold(text).split()


# --- every stored field on the lead page and in the edit form (item 2) --------------------------

HTMX = {"HX-Request": "true"}


@pytest.fixture
def imported(users):
    """A salesperson's lead with what a CSV import maps: mobile, city and the rest."""
    return LeadFactory(
        by=users[Role.SALESPERSON],
        first_name="Jürgen",
        last_name="Müller",
        email="jm@example.com",
        phone="",
        mobile_phone="5556079806",
        office_phone="5556070000",
        company="Bäckerei Groß",
        website="baeckerei.example",
        street="Marienplatz 1",
        city="München",
        zipcode="80331",
        country="Germany",
    )


def _group(html: str, key: str) -> str:
    start = html.index(f'<details class="field-group" data-group="{key}"')
    return html[start : html.index("</details>", start)]


def test_the_lead_page_shows_every_stored_field_grouped(client, users, imported):
    client.force_login(users[Role.SALESPERSON])
    html = client.get(f"/leads/{imported.slug}/").content.decode()
    contact, address, company = (_group(html, k) for k in ("contact", "address", "company"))
    assert contact.startswith('<details class="field-group" data-group="contact" open>')
    assert "<dt>Mobile phone</dt>" in contact
    assert re.search(r'data-field="mobile_phone"><a href="tel:(\+1)?5556079806"', contact)
    assert "<dt>Office phone</dt>" in contact
    assert "<dt>Phone</dt>" in contact  # blank, but always shown
    assert "<dt>Fax</dt>" not in contact  # blank fields of a filled group are left out
    assert "München" in address and "80331" in address and "Marienplatz 1" in address
    assert "<dt>Zip code</dt>" in address and "<dt>State</dt>" not in address
    assert 'href="https://baeckerei.example"' in company
    # Empty groups are folded, their fields listed as blank.
    for key in ("marketing", "other"):
        group = _group(html, key)
        assert group.startswith(f'<details class="field-group" data-group="{key}">'), group
        assert "(empty)" in group
    assert "<dt>Lead score</dt>" in _group(html, "marketing")


def test_flags_at_their_default_are_nothing_to_tell(client, users, imported):
    client.force_login(users[Role.SALESPERSON])
    html = client.get(f"/leads/{imported.slug}/").content.decode()
    assert "(empty)" in _group(html, "other")
    Lead.objects.filter(pk=imported.pk).update(is_unsubscribed=True, lead_score=40)
    html = client.get(f"/leads/{imported.slug}/").content.decode()
    marketing = _group(html, "marketing")
    assert " open>" in marketing.split("\n")[0]
    assert "<dt>Unsubscribed</dt>" in marketing and "Yes" in marketing and "40" in marketing


def test_a_website_that_is_not_a_web_address_is_not_a_link(client, users, imported):
    Lead.objects.filter(pk=imported.pk).update(website="javascript:alert(1)")
    client.force_login(users[Role.SALESPERSON])
    html = client.get(f"/leads/{imported.slug}/").content.decode()
    assert 'href="javascript' not in html and "javascript:alert(1)" in _group(html, "company")


def _edit_data(lead: Lead, **changes: str) -> dict[str, str]:
    data = {
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "email": lead.email,
        "phone": lead.phone or "5550001111",
        "status": lead.status_id,
        "source": lead.source_id or "",
        "tags": "",
    }
    return data | changes


def test_the_edit_form_edits_every_field(client, users, imported):
    client.force_login(users[Role.SALESPERSON])
    form = client.get(f"/leads/{imported.slug}/edit/").content.decode()
    for name in ("mobile_phone", "city", "zipcode", "website", "lead_score", "birth_date", "ip"):
        assert f'name="{name}"' in form, name
    assert 'value="München"' in form
    response = client.post(
        f"/leads/{imported.slug}/edit/",
        _edit_data(
            imported,
            mobile_phone="(555) 607-1111",
            city="Köln",
            state="NRW",
            lat="50.937531",
            lead_score="12",
            birth_date="1980-02-29",
            ip="192.0.2.1",
            ok_to_text="true",
            is_unsubscribed="true",
            description="Met at the spring fair.",
        ),
    )
    assert response.status_code == 302, response.content.decode()
    imported.refresh_from_db()
    assert imported.mobile_phone == "5556071111"  # stored as digits, as every phone number
    assert (imported.city, imported.state, str(imported.lat)) == ("Köln", "NRW", "50.937531")
    assert (imported.lead_score, str(imported.birth_date)) == (12, "1980-02-29")
    assert (imported.ip, imported.ok_to_text, imported.is_unsubscribed) == ("192.0.2.1", True, True)
    assert imported.description == "Met at the spring fair."
    assert imported.zipcode == "80331"  # posted unchanged


def test_an_edit_that_posts_fewer_fields_leaves_the_others_alone(client, users, imported):
    client.force_login(users[Role.SALESPERSON])
    response = client.post(f"/leads/{imported.slug}/edit/", _edit_data(imported, company="Acme"))
    assert response.status_code == 302
    imported.refresh_from_db()
    assert (imported.company, imported.city, imported.mobile_phone) == (
        "Acme",
        "München",
        "5556079806",
    )
    assert imported.active is True and imported.is_unsubscribed is False


def test_the_new_lead_form_takes_the_other_fields(client, users):
    client.force_login(users[Role.SALESPERSON])
    form = client.get("/leads/new/").content.decode()
    assert '<details class="form-group-fold" data-group="address">' in form  # folded, empty
    response = client.post(
        "/leads/new/",
        {
            "first_name": "Ana",
            "last_name": "Silva",
            "email": "ana@example.com",
            "phone": "5550002222",
            "status": "prospect",
            "city": "São Paulo",
            "mobile_phone": "+55 11 91234-5678",
            "active": "true",
        },
    )
    assert response.status_code == 302, response.content.decode()
    lead = Lead.objects.get(email="ana@example.com")
    assert (lead.city, lead.mobile_phone, lead.active) == ("São Paulo", "+5511912345678", True)


# --- every error of the lead form at once (item 7) ---------------------------------------------


@pytest.mark.parametrize("inline", [False, True])
def test_a_missing_phone_does_not_hide_an_invalid_email(client, users, imported, inline):
    client.force_login(users[Role.SALESPERSON])
    data = _edit_data(imported, phone="", email="not-an-email", website="x" * 300, lat="abc")
    url = f"/leads/{imported.slug}/edit/" + ("?inline=1" if inline else "")
    response = client.post(url, data, headers=HTMX if inline else {})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_phone_error"' in html and "This field is required." in html
    assert 'id="id_email_error"' in html and "Invalid email." in html
    assert 'id="id_website_error"' in html and 'id="id_lat_error"' in html
    imported.refresh_from_db()
    assert imported.email == "jm@example.com"


def test_a_new_lead_shows_every_error_at_once(client, users):
    client.force_login(users[Role.SALESPERSON])
    response = client.post(
        "/leads/new/",
        {"first_name": "Ana", "last_name": "", "email": "nope", "phone": "12", "status": "nope"},
    )
    assert response.status_code == 422
    html = response.content.decode()
    for name in ("last_name", "email", "phone", "status"):
        assert f'id="id_{name}_error"' in html, name
    assert not Lead.objects.filter(first_name="Ana").exists()


# --- merge defaults (item 10) ---------------------------------------------------------------------


def test_merge_offers_the_non_empty_value_for_every_field(client, users):
    manager, salesperson = users[Role.SALES_MANAGER], users[Role.SALESPERSON]
    keep = LeadFactory(by=manager, owner=None, first_name="Ann", last_name="Lee", email="")
    other = LeadFactory(
        by=manager,
        owner=salesperson,
        first_name="Ann",
        last_name="Lee",
        email="ann@example.com",
        mobile_phone="5556079806",
        city="München",
        lead_score=0,
    )
    Lead.objects.filter(pk=other.pk).update(is_unsubscribed=True)
    client.force_login(manager)
    html = client.get(f"/leads/merge/?a={keep.slug}&b={other.slug}").content.decode()
    for key in ("email", "mobile_phone", "city", "lead_score", "is_unsubscribed", "owner"):
        assert f'name="choose_{key}" value="other" checked' in html, key
    assert 'name="choose_phone" value="keep" checked' in html  # both filled: the kept one's
    # Merged as offered: an unsubscription survives, and the owner comes along.
    choices = {"choose_owner": "other"}
    client.post("/leads/merge/", {"a": keep.slug, "b": other.slug, **choices})
    keep.refresh_from_db()
    assert (keep.email, keep.city, keep.is_unsubscribed, keep.owner) == (
        "ann@example.com",
        "München",
        True,
        salesperson,
    )


def test_merge_does_not_offer_an_inactive_person(client, users):
    manager, salesperson = users[Role.SALES_MANAGER], users[Role.SALESPERSON]
    keep = LeadFactory(by=manager, owner=None)
    other = LeadFactory(by=manager, owner=salesperson)
    salesperson.is_active = False
    salesperson.save(update_fields=["is_active"])
    client.force_login(manager)
    html = client.get(f"/leads/merge/?a={keep.slug}&b={other.slug}").content.decode()
    assert 'name="choose_owner" value="keep" checked' in html
