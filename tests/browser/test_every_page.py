"""Every page of the web app in a real browser, at desktop and phone widths, with realistic
data: each is screenshotted (``screenshots/every-<page>-<width>.png``) and checked by axe-core.

The pages are listed in PAGES; ``test_every_html_page_is_in_the_list`` fails when a page is
added to the URLs (found by tests/test_web_every_page.py's walk of the resolver) and not here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import expect

from crm.domain import Actor
from leads import imports
from leads.services import field_create, lead_create, task_create
from tests.browser.conftest import BROWSER_DB, assert_accessible, shoot
from tests.factories import AppointmentFactory, LeadFactory, NoteFactory
from tests.test_web_every_page import GET_ROUTES

pytestmark = BROWSER_DB

WIDTHS = [1280, 390]


class Data:
    """What the pages show: a sales manager's leads (with notes, tags, a custom field and an
    appointment), a CSV import waiting for review with a duplicate row, and a finished one."""

    def __init__(self, users) -> None:
        manager, seller = users["sales_manager"], users["salesperson"]
        me = Actor(user=manager)
        colour = field_create(label="Favourite colour")
        field_create(label="Budget approved", data_type="boolean")
        self.ann = lead_create(
            actor=me,
            data={
                "first_name": "Ann",
                "last_name": "Lee",
                "email": "ann.lee@internationale-handelsgesellschaft.example",
                "phone": "5551234567",
                "company": "Internationale Handelsgesellschaft Rhein-Main GmbH",
                "title": "Head of Procurement",
                "city": "Frankfurt am Main",
                "status": "contact",
                "source": "referral",
                "owner": manager,
                "assignee": seller,
            },
            custom={colour.system_name: "Blue"},
            tags=["vip", "spring fair", "needs quote"],
        )
        self.annie = LeadFactory(
            by=manager,
            first_name="Annie",
            last_name="Leigh",
            email="annie@work.example",
            company="Acme",
            status="prospect",
        )
        for first, last, status, company in [
            ("Bruno", "Baker", "potential", "Bakery Bros."),
            ("Chloe", "Cook", "tentative", "Cookware"),
            ("Farid", "Fox", "customer", "Fox Media"),
        ]:
            lead = LeadFactory(
                by=manager,
                assignee=seller,
                first_name=first,
                last_name=last,
                status=status,
                company=company,
            )
            NoteFactory(lead=lead, by=seller, text=f"Sent {first} the brochure.")
        NoteFactory(lead=self.ann, by=manager, text="Called; asked for a quote for 40 seats.")
        NoteFactory(
            lead=self.ann,
            by=seller,
            text="Follow-up: she wants the quote before the board meets on Friday, "
            "with the volume discount and the onboarding package spelled out.",
        )
        self.day = timezone.localdate() + timedelta(days=1)
        start = timezone.make_aware(datetime.combine(self.day, time(10)))
        self.demo = AppointmentFactory(
            lead=self.ann, by=manager, start=start, end=start + timedelta(hours=1), note="Demo"
        )
        self.task = task_create(
            actor=me, title="Send the quote", due=start - timedelta(days=2), lead=self.ann
        )
        self.review = imports.import_create(
            actor=me,
            upload=_csv(
                "First Name,Last Name,E-mail,Phone,Company\n"
                "Ann,Lee,ANN.LEE@internationale-handelsgesellschaft.example,555 123 4567,IHG\n"
                "Dana,Park,dana@example.com,555 765 4321,Parkside\n"
                "Eli,Ross,not-an-email,,\n"
            ),
        )
        done = imports.import_create(
            actor=me, upload=_csv("First Name,Last Name,Email\nGus,Hale,gus@example.com\n")
        )
        imports.import_run(actor=me, imp=done)
        self.done = done
        # The link of a "Forgot password?" email, for the salesperson.
        uid = urlsafe_base64_encode(force_bytes(seller.pk))
        self.reset = reverse(
            "password_reset_confirm", args=[uid, default_token_generator.make_token(seller)]
        )


def _csv(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("leads.csv", text.encode(), content_type="text/csv")


# name -> (route name of tests/test_web_every_page.py, the address, the page's h1)
PAGES: dict[str, tuple[str, Callable[[Data], str], str]] = {
    "dashboard": ("dashboard", lambda d: "/", "Dashboard"),
    "leads-list": ("leads:list", lambda d: reverse("leads:list"), "Leads"),
    "lead-page": ("leads:detail", lambda d: reverse("leads:detail", args=[d.ann.slug]), "Ann Lee"),
    "lead-create": ("leads:create", lambda d: reverse("leads:create"), "New lead"),
    "lead-edit": ("leads:edit", lambda d: reverse("leads:edit", args=[d.ann.slug]), "Edit"),
    "lead-appointments": (
        "appointments:lead",
        lambda d: reverse("appointments:lead", args=[d.ann.slug]),
        "Ann Lee",
    ),
    "pipeline": ("leads:pipeline", lambda d: reverse("leads:pipeline"), "Pipeline"),
    "pipeline-move": (
        "leads:pipeline-move-menu",
        lambda d: reverse("leads:pipeline-move-menu", args=[d.ann.slug]),
        "Move Ann Lee",
    ),
    "agenda": ("appointments:agenda", lambda d: reverse("appointments:agenda"), "Appointments"),
    "week": (
        "appointments:week",
        lambda d: f"{reverse('appointments:week')}?week={d.day:%Y-%m-%d}",
        "Appointments",
    ),
    "appointment-move": (
        "appointments:move",
        lambda d: f"{reverse('appointments:move', args=[d.demo.pk])}?back=week&day={d.day}",
        "Move the appointment with Ann Lee",
    ),
    "task-snooze": (
        "leads:task-snooze",
        lambda d: f"{reverse('leads:task-snooze', args=[d.task.pk])}?back=lead",
        "Snooze “Send the quote”",
    ),
    "feed": ("appointments:feed", lambda d: reverse("appointments:feed"), "Appointments"),
    "import-upload": ("leads:import", lambda d: reverse("leads:import"), "Import leads"),
    "import-review": (
        "leads:import-review",
        lambda d: reverse("leads:import-review", args=[d.review.pk]),
        "Import leads",
    ),
    "import-result": (
        "leads:import-review",
        lambda d: reverse("leads:import-review", args=[d.done.pk]),
        "Import leads",
    ),
    "merge": (
        "leads:merge",
        lambda d: f"{reverse('leads:merge')}?a={d.ann.slug}&b={d.annie.slug}",
        "Merge",
    ),
    "settings": ("settings", lambda d: reverse("settings"), "Settings"),
    "notifications": (
        "notifications:list",
        lambda d: reverse("notifications:list"),
        "Notifications",
    ),
    "password-change": ("password_change", lambda d: reverse("password_change"), "password"),
    "login": ("login", lambda d: reverse("login"), "Sign in"),
    "password-reset": ("password_reset", lambda d: reverse("password_reset"), "Forgot"),
    "password-reset-sent": (
        "password_reset_done",
        lambda d: reverse("password_reset_done"),
        "Check your email",
    ),
    "password-reset-confirm": ("password_reset_confirm", lambda d: d.reset, "new password"),
    "password-reset-complete": (
        "password_reset_complete",
        lambda d: reverse("password_reset_complete"),
        "password was changed",
    ),
}
# Shown to anonymous visitors; every other page to a sales manager.
ANONYMOUS = {
    "login",
    "password-reset",
    "password-reset-sent",
    "password-reset-confirm",
    "password-reset-complete",
}
# GET routes that are files, not pages.
NOT_PAGES = {
    "leads:export",
    "leads:file",
    "leads:personal-data",
    "appointments:ics",
    "appointments:feed-ics",
}


def test_every_html_page_is_in_the_list():
    listed = {route for route, _, _ in PAGES.values()}
    missing = {r.name for r in GET_ROUTES} - listed - NOT_PAGES
    assert not missing, (
        f"Pages not visited by tests/browser/test_every_page.py: {sorted(missing)}; "
        "add them to PAGES (or to NOT_PAGES if they answer a file)."
    )


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(PAGES))
def test_every_page(name, width, users, page_for, anon_page_for):
    _route, address, heading = PAGES[name]
    data = Data(users)
    if name in ANONYMOUS:
        page = anon_page_for(width=width)
    else:
        page = page_for(users["sales_manager"], width=width)
    response = page.goto(address(data))
    assert response is not None and response.status == 200, response and response.status
    expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
    # A window as tall as the page: a full-page screenshot then shows sticky parts (the import
    # review's action bar) where they sit at the end of the page, not over the middle of it.
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": width, "height": max(height, 900)})
    shoot(page, f"every-{name}")
    assert_accessible(page)
    # Nothing is wider than the window (a table may scroll inside its own box).
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name} at {width}px is {overflow}px wider than the window"
    # The same page in the dark theme (prefers-color-scheme): dark surfaces, light headings,
    # and axe-clean again, colour contrast included.
    page.emulate_media(color_scheme="dark")
    assert is_dark(page.eval_on_selector("html", "e => getComputedStyle(e).backgroundColor"))
    assert not is_dark(page.eval_on_selector("h1", "e => getComputedStyle(e).color")), name
    assert_accessible(page)
    if width == 1280 or name in ("import-review", "pipeline", "week"):
        shoot(page, f"every-dark-{name}")


def is_dark(rgb: str) -> bool:
    """An ``rgb(r, g, b)`` colour darker than a quarter of white."""
    parts = [int(p) for p in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    return sum(parts) / 3 < 64
