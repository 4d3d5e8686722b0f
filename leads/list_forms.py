"""Forms of the leads list: the filter bar (read into the selectors' filter names) and the
bulk actions bar. Neither decides anything: the selectors filter, the services change."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from crm import selectors as user_selectors
from crm.domain import Actor
from crm.forms import QuickDateInput, QuickInput, QuickSelect
from crm.models import user_name
from leads import access, selectors
from leads.models import Lead

LIST_TYPES = [("all", "All I can see"), ("owned", "Owned by me"), ("assigned", "Assigned to me")]
ORDERINGS = [
    (f"{sign}{field}", f"{field} {sign}")
    for field in ("created_at", "updated_at", "first_name", "last_name", "email", "status")
    for sign in ("", "-")
]
MAX_BULK = 500
# The created range's dates as the first moment they filter from: "to" includes its whole day.
DAY_START = {"created_after": 0, "created_before": 1}


def _person(username: str, first_name: str, last_name: str) -> tuple[str, str]:
    """A user as a choice: the name, and the username too when they differ."""
    name = user_name(username, first_name, last_name)
    return (username, name if name == username else f"{name} ({username})")


def _active_users() -> list[tuple[str, str]]:
    return [_person(u.username, u.first_name, u.last_name) for u in user_selectors.people()]


class LeadListForm(forms.Form):
    search = forms.CharField(label="Search", required=False, max_length=255, widget=QuickInput)
    list_type = forms.ChoiceField(
        label="Show", choices=LIST_TYPES, required=False, widget=QuickSelect
    )
    status = forms.ChoiceField(label="Status", required=False, widget=QuickSelect)
    source = forms.ChoiceField(label="Source", required=False, widget=QuickSelect)
    owner = forms.ChoiceField(label="Owner", required=False, widget=QuickSelect)
    assignee = forms.ChoiceField(label="Assignee", required=False, widget=QuickSelect)
    campaign_slug = forms.ChoiceField(label="Campaign", required=False, widget=QuickSelect)
    created_after = forms.DateField(
        label="Created from", required=False, widget=QuickDateInput(attrs={"type": "date"})
    )
    created_before = forms.DateField(
        label="Created to", required=False, widget=QuickDateInput(attrs={"type": "date"})
    )
    ordering = forms.ChoiceField(
        choices=ORDERINGS, required=False, widget=forms.HiddenInput, label="Sort"
    )

    def __init__(self, data: Any, *, actor: Actor) -> None:
        super().__init__(data)
        any_ = [("", "Any")]
        choices = selectors.list_choices()
        # Kept for the page's bulk form (BulkForm's statuses and people), read once.
        self.statuses = choices.statuses
        self.people = [_person(*person) for person in choices.people]
        self.fields["status"].choices = any_ + self.statuses
        self.fields["source"].choices = any_ + choices.sources
        self.fields["owner"].choices = any_ + self.people
        self.fields["assignee"].choices = any_ + self.people
        self.fields["campaign_slug"].choices = any_ + choices.campaigns
        self.fields["search"].widget.attrs.update(
            {"type": "search", "placeholder": "Name, email, phone, company or city"}
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self.day_starts: dict[str, datetime] = {}
        for name, extra_days in DAY_START.items():
            if not data.get(name):
                continue
            try:
                start = datetime.combine(data[name] + timedelta(days=extra_days), time.min)
                self.day_starts[name] = timezone.make_aware(start)
                self.day_starts[name].astimezone(UTC)  # a time the database can store
            except OverflowError:
                self.day_starts.pop(name, None)
                self.add_error(name, "Enter a date between the years 1 and 9998.")
        after, before = data.get("created_after"), data.get("created_before")
        if after and before and before < after:
            self.add_error("created_before", "“Created to” is before “Created from”.")
            self.day_starts.pop("created_before", None)
        return data

    def selection(self) -> tuple[str, dict[str, str]]:
        """(list_type, filters by the selectors' filter names) from the valid fields."""
        data = getattr(self, "cleaned_data", {})
        filters: dict[str, str] = {}
        for name in ("search", "status", "source", "owner", "assignee", "campaign_slug"):
            if data.get(name):
                filters[name] = data[name]
        for name, start in getattr(self, "day_starts", {}).items():
            if data.get(name):
                filters[name] = start.isoformat()
        return data.get("list_type") or "all", filters

    def query(self) -> dict[str, str]:
        """The valid filters as the URL spells them (no page cursor), for links and export."""
        data = getattr(self, "cleaned_data", {})
        kept = {}
        for name in self.fields:
            value = data.get(name)
            if value:
                kept[name] = value.isoformat() if hasattr(value, "isoformat") else value
        return kept


class SlugListField(forms.Field):
    """The ticked leads' slugs, as given: the view only looks up the leads the user sees, so
    unknown ones are left out there (checking them against a list of choices would cost a
    comparison per slug and choice)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[str]:
        if not value:
            return []
        if not isinstance(value, (list, tuple)):
            raise forms.ValidationError("Enter a list of leads.", code="invalid_list")
        return [str(slug) for slug in value]


def bulk_choices(
    actor: Actor,
    *,
    statuses: list[tuple[str, str]] | None = None,
    people: list[tuple[str, str]] | None = None,
) -> dict[str, list[tuple[str, str]]]:
    """The bulk bar's choices for the actor, by field (status, assignee, owner): what
    ``BulkForm`` accepts and the leads list offers. ``statuses`` (assignable, as choices) and
    ``people`` (active users, as choices) when the caller has read them already."""
    if statuses is None:
        statuses = selectors.assignable_statuses()
    if not access.can_give(actor):
        # The services refuse "Me" to whom access.can_assign_to_self denies; the list does
        # not offer it to them.
        people = [(actor.user.username, "Me")]
        owners: list[tuple[str, str]] = []  # only managers give leads to an owner
    elif people is None:
        people = owners = _active_users()
    else:
        owners = people
    return {
        "status": [("", "Choose…"), *statuses],
        "assignee": [("", "Choose…"), ("-", "Nobody"), *people],
        "owner": [("", "Choose…"), ("-", "Nobody"), *owners],
    }


class BulkForm(forms.Form):
    ACTIONS = [
        ("status", "Change status"),
        ("assign", "Assign"),
        ("owner", "Change owner"),
        ("delete", "Delete"),
    ]
    SCOPES = [("selected", "The ticked leads"), ("matching", "All leads matching the filters")]

    leads = SlugListField(label="Leads", required=False)
    action = forms.ChoiceField(label="Bulk action", choices=ACTIONS, widget=QuickSelect)
    status = forms.ChoiceField(label="Status", required=False, widget=QuickSelect)
    assignee = forms.ChoiceField(label="Assignee", required=False, widget=QuickSelect)
    owner = forms.ChoiceField(label="Owner", required=False, widget=QuickSelect)
    # "Select all N matching": the filters' leads, beyond the page, walked by id in batches.
    scope = forms.ChoiceField(label="Apply to", choices=SCOPES, required=False)
    confirmed = forms.BooleanField(label="Confirmed", required=False)  # a delete, asked first
    # A "matching" batch's progress, carried from one chunk to the next (ids, counts).
    after = forms.IntegerField(required=False, min_value=0)
    upto = forms.IntegerField(required=False, min_value=0)
    changed = forms.IntegerField(required=False, min_value=0)
    refused = forms.IntegerField(required=False, min_value=0)
    total = forms.IntegerField(required=False, min_value=0)
    total_exact = forms.BooleanField(required=False)

    def __init__(
        self,
        data: Any = None,
        *,
        actor: Actor,
        statuses: list[tuple[str, str]] | None = None,
        people: list[tuple[str, str]] | None = None,
    ) -> None:
        """``statuses`` (assignable, as choices) and ``people`` (active users, as choices)
        when the caller has read them already."""
        super().__init__(data)
        self.actor = actor
        for name, choices in bulk_choices(actor, statuses=statuses, people=people).items():
            self.fields[name].choices = choices

    @property
    def matching(self) -> bool:
        """Whether the action is for every lead of the filters, not only the ticked ones."""
        return getattr(self, "cleaned_data", {}).get("scope") == "matching"

    def clean_leads(self) -> list[str]:
        leads = self.cleaned_data["leads"]
        if len(leads) > MAX_BULK:
            raise forms.ValidationError(f"Select at most {MAX_BULK} leads at a time.")
        longest = Lead._meta.get_field("slug").max_length
        return [slug for slug in leads if len(slug) <= longest and "\x00" not in slug]

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("leads") and data.get("scope") != "matching" and "leads" not in self.errors:
            self.add_error("leads", "Select at least one lead.")
        action = data.get("action")
        if action == "status" and not data.get("status"):
            self.add_error("status", "Choose the new status.")
        for name, field, missing in (
            ("assign", "assignee", "Choose who gets the leads."),
            ("owner", "owner", "Choose the new owner."),
        ):
            if action != name:
                continue
            username = data.get(field)
            if not username:
                self.add_error(field, missing)
            elif username != "-":
                data[f"{field}_user"] = user_selectors.active_user(username=username)
                if data[f"{field}_user"] is None:
                    self.add_error(field, f"{field.capitalize()} not found.")
        return data

    def change(self) -> dict[str, Any]:
        """The lead fields the chosen action sets, as ``services.lead_update`` takes them."""
        data = self.cleaned_data
        if data["action"] == "status":
            return {"status": data["status"]}
        if data["action"] == "owner":
            return {"owner": data.get("owner_user")}
        return {"assignee": data.get("assignee_user")}
