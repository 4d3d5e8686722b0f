"""Issue 14 in a real browser, items 5, 6, 10 and the lead page's part of 4: destructive actions
ask first in an accessible confirm (an appointment's "Cancel appointment" / "Keep it", the
calendar's "Reset the address", "Delete lead" in a dialog, not window.confirm) or offer "Undo"
(a deleted note); the timeline's sentences; a Jr. Salesperson is offered no Merge; phone numbers
formatted and plurals right. Without JavaScript the server asks on a page of its own before a
lead is deleted. At 1280 and 390 px, axe-core clean, screenshots looked at."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from appointments.models import Appointment, AppointmentStatus, CalendarFeed
from leads.models import Event, EventType, Lead, LeadNote
from tests.browser.conftest import BROWSER_DB, assert_accessible, settled, shoot
from tests.factories import AppointmentFactory, LeadFactory, NoteFactory

pytestmark = BROWSER_DB

WIDTHS = (1280, 390)
# Where the layout does not change what a test checks, it runs at one width.
PHONE = (390,)
DESKTOP = (1280,)


def shot(page: Page, name: str) -> None:
    shoot(page, f"safe-actions-{name}")


def no_native_dialogs(page: Page) -> list[str]:
    """window.confirm/alert would show here: record them (and dismiss) so a test can say none."""
    seen: list[str] = []
    page.on("dialog", lambda dialog: (seen.append(dialog.message), dialog.dismiss()))
    return seen


@pytest.fixture
def seller(users):
    return users["salesperson"]


@pytest.fixture
def lead(users, seller):
    return LeadFactory(
        by=users["sales_manager"],
        owner=seller,
        first_name="Ada",
        last_name="Lovelace",
        phone="5556079806",
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_a_salesperson_cancels_an_appointment_only_after_confirming(page_for, seller, lead, width):
    start = timezone.now() + timedelta(days=3)
    booked = AppointmentFactory(lead=lead, by=seller, start=start, end=start + timedelta(hours=1))
    page = page_for(seller, width=width)
    native = no_native_dialogs(page)
    page.goto(f"/leads/{lead.slug}/")
    item = page.locator(f"#appointment-{booked.pk}")
    item.locator("summary", has_text="Cancel").click()
    panel = item.locator(".appt-cancel-panel")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("Cancel the appointment on")
    expect(panel.get_by_label("Reason (optional)")).to_be_focused()
    assert_accessible(page)
    shot(page, "appointment-cancel-asks")

    # "Keep it" closes the question and changes nothing.
    panel.get_by_role("button", name="Keep it").click()
    expect(panel).to_be_hidden()
    expect(item.locator("summary", has_text="Cancel")).to_be_focused()
    assert Appointment.objects.get(pk=booked.pk).status == AppointmentStatus.PENDING

    item.locator("summary", has_text="Cancel").click()
    panel.get_by_label("Reason (optional)").fill("Travelling")
    panel.get_by_role("button", name="Cancel appointment").click()
    expect(page.locator(f"#appointment-{booked.pk} .appt-status")).to_have_text("Cancelled")
    first = page.locator("#lead-timeline li").first
    expect(first).to_contain_text("Appointment cancelled")
    expect(first).to_contain_text("reason: “Travelling”")
    settled(page)
    assert Appointment.objects.get(pk=booked.pk).status == AppointmentStatus.CANCELLED
    assert native == []

    # The same question on the week calendar, in its narrow day column.
    later = AppointmentFactory(lead=lead, by=seller, start=start + timedelta(hours=2),
                               end=start + timedelta(hours=3))  # fmt: skip
    monday = timezone.localdate(start) - timedelta(days=timezone.localdate(start).weekday())
    page.goto(f"/appointments/week/?week={monday.isoformat()}")
    item = page.locator(f"#appointment-{later.pk}")
    item.locator("summary", has_text="Cancel").click()
    expect(item.get_by_role("button", name="Keep it")).to_be_visible()
    assert_accessible(page)
    shot(page, "week-cancel-asks")


@pytest.mark.parametrize("width", PHONE)
def test_a_salesperson_deletes_a_note_and_undoes_it(page_for, seller, lead, width):
    note = NoteFactory(lead=lead, by=seller, text="Prefers calls after lunch.")
    page = page_for(seller, width=width)
    page.goto(f"/leads/{lead.slug}/")
    notes = page.locator("#lead-notes")
    notes.get_by_role("button", name="Delete note").click()
    gone = notes.locator(".note-deleted")
    expect(gone).to_contain_text("Note deleted")
    expect(gone).to_contain_text("Prefers calls after lunch.")
    undo = gone.get_by_role("button", name="Undo")
    expect(undo).to_be_focused()
    expect(page.locator("#lead-timeline li").first).to_contain_text("Note deleted")
    settled(page)
    assert_accessible(page)
    shot(page, "note-deleted-undo")
    assert LeadNote.objects.get(pk=note.pk).deleted_at is not None

    undo.click()
    expect(notes.locator(f"#note-{note.pk}")).to_contain_text("Prefers calls after lunch.")
    expect(notes.locator(".note-deleted")).to_have_count(0)
    expect(page.locator("#lead-timeline li").first).to_contain_text("Note restored")
    settled(page)
    assert LeadNote.objects.get(pk=note.pk).deleted_at is None
    assert Event.objects.filter(lead=lead, type=EventType.NOTE_RESTORED).count() == 1


@pytest.mark.parametrize("width", PHONE)
def test_a_salesperson_resets_the_secret_address_after_confirming(page_for, seller, width):
    page = page_for(seller, width=width)
    page.goto("/settings/")
    page.get_by_role("link", name="Your calendar feed").click()
    address = page.get_by_label("Calendar address")
    old = address.input_value()
    page.locator("summary", has_text="Reset the secret address").click()
    question = page.locator(".feed-reset .confirm-box")
    expect(question).to_contain_text("Calendars subscribed to the old one stop updating.")
    assert_accessible(page)
    shot(page, "feed-reset-asks")

    question.get_by_role("button", name="Keep it").click()
    expect(question).to_be_hidden()
    expect(address).to_have_value(old)
    token = CalendarFeed.objects.get(user=seller).token

    page.locator("summary", has_text="Reset the secret address").click()
    question.get_by_role("button", name="Reset the address").click()
    expect(page.locator("#messages")).to_contain_text("new secret address")
    expect(address).not_to_have_value(old)
    assert CalendarFeed.objects.get(user=seller).token != token


@pytest.mark.parametrize("width", WIDTHS)
def test_deleting_a_lead_asks_in_an_accessible_dialog(page_for, seller, lead, width):
    page = page_for(seller, width=width)
    native = no_native_dialogs(page)
    page.goto(f"/leads/{lead.slug}/")
    delete = page.get_by_role("button", name="Delete lead")
    delete.click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Delete this lead? An administrator can restore it.")
    expect(dialog.get_by_role("button", name="Keep it")).to_be_focused()
    assert_accessible(page)
    shot(page, "lead-delete-dialog")
    page.keyboard.press("Escape")  # keeps it
    expect(dialog).to_be_hidden()
    expect(delete).to_be_focused()
    assert Lead.objects.get(pk=lead.pk).status_id != "deleted"

    delete.click()
    dialog.get_by_role("button", name="Delete lead").click()
    expect(page.get_by_text("Lead Ada Lovelace deleted.")).to_be_visible()
    assert Lead.objects.get(pk=lead.pk).status_id == "deleted"
    assert native == []


def test_without_javascript_deleting_a_lead_asks_on_a_page_first(page_for, users, seller):
    """The server asks too: with JavaScript off, "Delete lead" posts the form as it is (no
    confirmation), which deletes nothing and answers a page that asks; "Cancel" goes back,
    the page's "Delete lead" deletes. At the phone width (the narrower layout of the page)."""
    for width in PHONE:
        lead = LeadFactory(by=users["sales_manager"], owner=seller,
                           first_name="Grace", last_name=f"Hopper {width}")  # fmt: skip
        page = page_for(seller, width=width, javascript=False)
        page.goto(f"/leads/{lead.slug}/")
        page.get_by_role("button", name="Delete lead").click()
        expect(page).to_have_url(f"/leads/{lead.slug}/delete/")
        expect(page).to_have_title(f"Delete lead Grace Hopper {width}? · Lead CRM")
        ask = page.locator("main .confirm-page")
        expect(ask.get_by_role("heading", level=1)).to_have_text(
            f"Delete lead Grace Hopper {width}?"
        )
        expect(ask).to_contain_text("an administrator can restore it")
        assert Lead.objects.get(pk=lead.pk).status_id == "prospect"
        shot(page, "no-js-lead-delete-asks")

        ask.get_by_role("link", name="Cancel").click()
        expect(page).to_have_url(f"/leads/{lead.slug}/")
        assert Lead.objects.get(pk=lead.pk).status_id == "prospect"

        page.get_by_role("button", name="Delete lead").click()
        page.locator("main .confirm-page").get_by_role("button", name="Delete lead").click()
        expect(page).to_have_url("/leads/")
        expect(page.get_by_text(f"Lead Grace Hopper {width} deleted.")).to_be_visible()
        assert Lead.objects.get(pk=lead.pk).status_id == "deleted"

        # axe needs JavaScript: the same page, reached by posting the form as it is (as a
        # stale page would, past htmx and confirm.js), in a browser with it.
        other = LeadFactory(by=users["sales_manager"], owner=seller, first_name="Alan")
        page = page_for(seller, width=width)
        page.goto(f"/leads/{other.slug}/")
        page.locator(f"form[action='/leads/{other.slug}/delete/']").evaluate("f => f.submit()")
        expect(page.locator("main .confirm-page h1")).to_have_text(f"Delete lead {other}?")
        assert_accessible(page)
        assert Lead.objects.get(pk=other.pk).status_id == "prospect"


@pytest.mark.parametrize("width", DESKTOP)
def test_the_timeline_tells_a_status_change_once_with_labels(page_for, seller, lead, width):
    page = page_for(seller, width=width)
    page.goto(f"/leads/{lead.slug}/")
    page.locator("#lead-controls").get_by_label("Status").select_option("Potential")
    page.get_by_role("button", name="Change status").click()
    first = page.locator("#lead-timeline li").first
    expect(first).to_contain_text("Status changed from Prospect to Potential")
    settled(page)
    texts = page.locator("#lead-timeline li").all_inner_texts()
    assert not any(t.startswith(("Updated", "Changed status")) for t in texts), texts
    assert not any("potential" in t for t in texts)
    # The phone number is shown formatted (stored as given).
    expect(page.get_by_role("link", name="(555) 607-9806")).to_have_attribute(
        "href", "tel:+15556079806"
    )
    assert_accessible(page)
    shot(page, "lead-timeline-status")

    # The dashboard's recent activity reads as sentences, and its count has the right plural.
    page.goto("/")
    activity = page.locator("section[aria-labelledby=activity] li").first
    expect(activity).to_contain_text(f"{seller} moved Ada Lovelace from Prospect to Potential")
    expect(page.get_by_test_id("total-leads").locator("..")).to_have_text("1 lead in all")
    assert_accessible(page)
    shot(page, "dashboard-activity")


@pytest.mark.parametrize("width", PHONE)
def test_a_jr_salesperson_is_offered_no_merge(page_for, users, width):
    jr = users["jr_salesperson"]
    lead = LeadFactory(by=users["sales_manager"], owner=jr, first_name="Own", last_name="Lead")
    page = page_for(jr, width=width)
    page.goto(f"/leads/{lead.slug}/")
    expect(page.get_by_role("heading", name="Own Lead", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Merge with another lead")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete lead")).to_have_count(0)
    expect(page.get_by_role("button", name="Add note")).to_be_visible()  # what it may do
    assert_accessible(page)
    shot(page, "lead-page-jr")
    # The merge page itself sends back with the reason.
    page.goto(f"/leads/merge/?a={lead.slug}")
    expect(page.locator("#messages")).to_contain_text("You may not merge leads into this one.")
    assert page.url.endswith(f"/leads/{lead.slug}/")
