"""Issue 14, items 8 (the import preview), 12, 13 and 14 in a real browser: the import preview
as cards at phone width, discarding an import, our own 404 / 403 / 500 pages with DEBUG off,
"Forgot password?" from the sign-in page to a new password, a note longer than the limit refused
with a message (the text kept), and the header naming the demo person and role."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import override_settings
from django.urls import include, path
from playwright.sync_api import expect

from crm.models import User
from leads.forms import NOTE_LENGTH
from leads.models import LeadImport, LeadNote
from tests.browser.conftest import BROWSER_DB, assert_accessible, shoot, take_errors
from tests.factories import LeadFactory

pytestmark = BROWSER_DB

WIDTHS = [1280, 390]
# Where the layout does not change what a test checks, it runs at one width.
PHONE = [390]


def shot(page, name: str) -> None:
    shoot(page, f"edges-{name}")


CSV = (
    "First Name,Last Name,E-mail,Phone,Company,City\n"
    "Jürgen,Müller,jm@mueller.example,555 607 9806,Müller Maschinenbau GmbH & Co. KG,München\n"
    "Ann,Lee,ann@lee.example,555 123 4567,Acme,Portland\n"
    "Cy,Young,not-an-email,,,\n"
).encode()


def _upload(page) -> None:
    page.goto("/import/")
    page.get_by_label(re.compile("^CSV file")).set_input_files(
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": CSV}]
    )
    page.get_by_role("button", name="Upload and preview").click()
    expect(page).to_have_url(re.compile(r"/import/\d+/$"))


# --- the import preview, and discarding an import -----------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_the_import_preview_fits_a_phone_as_cards(page_for, users, width):
    """A salesperson reviews an import: at 390 px each previewed row is a card whose fields are
    labelled, with nothing wider than the window; at 1280 px it stays a table."""
    page = page_for(users["salesperson"], width=width)
    _upload(page)
    table = page.locator("table.import-preview")
    first = table.locator("tbody tr").first
    expect(first).to_contain_text("Müller Maschinenbau")
    city = first.locator("td", has_text="München")
    label = city.locator(".import-card-label")
    if width == 390:
        expect(label).to_be_visible()
        expect(label).to_have_text("City")
        box, cell = first.bounding_box(), city.bounding_box()
        assert box["width"] <= 390 and cell["x"] + cell["width"] <= 390
        # the card's fields are stacked: the city is below the company
        company = first.locator("td", has_text="Müller Maschinenbau").bounding_box()
        assert cell["y"] > company["y"]
        head = table.locator("thead").bounding_box()  # kept for screen readers, not shown
        assert head["height"] <= 1 and head["width"] <= 1
    else:
        expect(label).to_be_hidden()
        expect(table.locator("thead")).to_be_visible()
        row = table.locator("tbody tr").first.bounding_box()
        assert row["height"] < 60  # one line per row
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    shot(page, "import-review")
    assert_accessible(page)


@pytest.mark.parametrize("width", PHONE)
def test_a_salesperson_discards_an_import(page_for, users, width):
    page = page_for(users["salesperson"], width=width)
    _upload(page)
    imp = LeadImport.objects.get()
    expect(page.get_by_text("deleted after 7 days")).to_be_visible()

    page.get_by_text("Discard this file").click()  # asks first
    question = page.get_by_text("Discard people.csv? Nothing is imported")
    expect(question).to_be_visible()
    shot(page, "import-discard-ask")
    assert_accessible(page)
    page.get_by_role("button", name="Keep it").click()
    expect(question).to_be_hidden()
    assert LeadImport.objects.filter(pk=imp.pk).exists()

    page.get_by_text("Discard this file").click()
    page.get_by_role("button", name="Discard file").click()
    expect(page).to_have_url(re.compile(r"/import/$"))
    expect(page.get_by_role("status").filter(has_text="Discarded people.csv")).to_be_visible()
    assert not LeadImport.objects.filter(pk=imp.pk).exists()
    shot(page, "import-discarded")
    assert_accessible(page)


# --- our own error pages, with DEBUG off --------------------------------------------------


def _boom(request):
    raise RuntimeError("a bug")


urlpatterns = [path("boom/", _boom), path("", include("crm.urls"))]
handler404 = "crm.errors.not_found"
handler403 = "crm.errors.forbidden"
handler500 = "crm.errors.server_error"


@pytest.fixture
def production():
    with override_settings(DEBUG=False, ROOT_URLCONF=__name__):
        yield


@pytest.mark.parametrize("width", WIDTHS)
def test_404_and_500_pages_in_the_layout(production, page_for, users, width):
    page = page_for(users["jr_salesperson"], width=width)
    response = page.goto("/leads/no-such-lead/")
    assert response.status == 404
    take_errors(page)  # the browser logs the 404 it was given
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("link", name="Go to the dashboard")).to_be_visible()
    shot(page, "404")
    assert_accessible(page)
    page.get_by_role("link", name="Go to the dashboard").click()
    expect(page).to_have_url(re.compile(r"/$"))

    response = page.goto("/boom/")
    assert response.status == 500
    take_errors(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Something went wrong on our side")
    expect(page.locator(".brand")).to_be_visible()
    color = page.evaluate("getComputedStyle(document.querySelector('.topbar')).display")
    assert color != "inline"  # the app's stylesheet is applied
    shot(page, "500")
    assert_accessible(page)


def test_404_signed_out(production, anon_page):
    response = anon_page.goto("/nothing/here/")
    assert response.status == 404
    take_errors(anon_page)
    expect(anon_page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(anon_page.get_by_role("link", name="Sign in")).to_be_visible()
    assert_accessible(anon_page)


# --- forgot password ----------------------------------------------------------------------


@pytest.mark.parametrize("width", PHONE)
def test_forgot_password_by_email(anon_page_for, users, live_server, width):
    salesperson = users["salesperson"]
    salesperson.email = "seller@example.com"
    salesperson.save()
    page = anon_page_for(width=width)
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Forgot password?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Forgot your password?")
    shot(page, "password-reset")
    assert_accessible(page)
    page.get_by_label("Email").fill("seller@example.com")
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    shot(page, "password-reset-sent")

    (sent,) = mail.outbox
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/)", sent.body).group(1)
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    page.locator("#id_new_password1").fill("short")
    page.locator("#id_new_password2").fill("short")
    page.get_by_role("button", name="Set the password").click()
    expect(page.locator(".errorlist").first).to_be_visible()  # too short, said so
    take_errors(page)
    shot(page, "password-reset-choose")
    assert_accessible(page)
    page.locator("#id_new_password1").fill("a much better secret 7")
    page.locator("#id_new_password2").fill("a much better secret 7")
    page.get_by_role("button", name="Set the password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your password was changed")
    assert_accessible(page)

    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Username").fill("salesperson")
    page.get_by_label("Password").fill("a much better secret 7")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    salesperson.refresh_from_db()
    assert salesperson.check_password("a much better secret 7")


# --- a note longer than the limit ---------------------------------------------------------


@pytest.mark.parametrize("width", PHONE)
def test_a_long_note_is_refused_with_a_message_not_cut(page_for, users, width):
    salesperson = users["salesperson"]
    lead = LeadFactory(by=salesperson, owner=salesperson, first_name="Ann", last_name="Lee")
    page = page_for(salesperson, width=width)
    page.goto(f"/leads/{lead.slug}/")
    text = "She wants the quote before Friday. " * 15 + "THE END"  # 532 characters
    note = page.locator("#id_note")
    note.fill(text)
    expect(note).to_have_value(text)  # the browser did not cut it
    expect(page.locator("#id_note + .note-count")).to_have_text(
        f"{len(text)} / {NOTE_LENGTH} (too long)"
    )
    page.get_by_role("button", name="Add note").click()
    error = page.locator("#id_note_error, .field-error .errorlist").first
    expect(error).to_contain_text(
        f"A note can be at most {NOTE_LENGTH} characters; this one has {len(text)}."
    )
    assert all("422" in e for e in take_errors(page))
    note = page.locator("#id_note")
    expect(note).to_have_value(text)  # kept, to be shortened
    assert not LeadNote.objects.filter(lead=lead).exists()
    shot(page, "note-too-long")
    assert_accessible(page)

    note.fill(text[:NOTE_LENGTH])
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(".notes .note-text").first).to_contain_text("She wants the quote")
    assert LeadNote.objects.get(lead=lead).text == text[:NOTE_LENGTH].strip()


# --- the demo people in the header --------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_the_header_names_the_demo_person_and_role(page_for, db, width):
    call_command("seed_demo", "--leads", "6", stdout=StringIO())
    page = page_for(User.objects.get(username="salesperson"), width=width)
    page.goto("/leads/")
    who = page.locator(".whoami")
    expect(who.locator(".who-name")).to_have_text("Sam Rivera")
    expect(who.locator(".who-role")).to_have_text("Salesperson")
    # the demo leads are people at companies, not "Buyer Northwind 01"
    names = page.locator("table tbody tr a[href^='/leads/']").all_inner_texts()
    assert names and all(re.fullmatch(r"[A-Z][a-z]+ [A-Z][A-Za-z' -]+", n) for n in names), names
    shot(page, "demo-leads")
    assert_accessible(page)
