"""The leads list: search, filters, sortable columns, keyset pages, bulk actions, CSV export.

The URL carries every filter, so a view of the list can be bookmarked and shared; with HTMX the
table is swapped in place and the URL pushed.
"""

from __future__ import annotations

import csv
from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from crm.replica import heavy_read
from crm.web import AuthedRequest, actor_of, is_fragment, plain, render_page
from leads import access, bulk, selectors, services
from leads.list_forms import BulkForm, LeadListForm, bulk_choices

# (column title, sort key of selectors.TABLE_SORTS)
SORTABLE = [
    ("Name", "last_name"),
    ("Email", "email"),
    ("Status", "status"),
    ("Created", "created_at"),
]


def _int(value: str | None) -> int | None:
    """A positive whole number from the URL, or None."""
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if 0 < number < 2**31 else None


def _amount(count: int, exact: bool) -> str:
    """``1,234`` or ``more than 1,000``."""
    return f"{count:,}" if exact else f"more than {count:,}"


def _position(start: int | None, shown: int, count: int, exact: bool) -> str:
    """Where the page is in the list: "Leads 51–100 of 1,234" (or "of more than 1,000");
    without a known start (a bookmarked later page), "50 leads shown of 1,234"."""
    if not shown:
        return "No leads"
    total = _amount(count, exact)
    if start is None:
        shown_text = ngettext("%(n)s lead shown", "%(n)s leads shown", shown) % {"n": shown}
        return f"{shown_text} of {total}"
    return f"Leads {start:,}–{start + shown - 1:,} of {total}"


def _table_context(request: AuthedRequest, query: QueryDict) -> dict:
    actor = actor_of(request)
    form = LeadListForm(query, actor=actor)
    form.is_valid()  # invalid filters show their errors and are left out
    list_type, filters = form.selection()
    ordering = form.cleaned_data.get("ordering") or "-created_at"
    after, before = query.get("after"), query.get("before")
    try:
        page = selectors.lead_table(
            actor=actor,
            list_type=list_type,
            filters=filters,
            ordering=ordering,
            after=after,
            before=before,
        )
    except ValidationError as exc:  # a filter the selector refuses: show it, list nothing
        form.add_error(None, exc)
        page = None
    kept = form.query()  # the filters, without the page cursor
    base = reverse("leads:list")

    def link(**extra: str) -> str:
        return f"{base}?{urlencode({**kept, **extra})}"

    columns = []
    for label, field in SORTABLE:
        current = ordering.lstrip("-") == field
        descending = ordering.startswith("-")
        aria = ("descending" if descending else "ascending") if current else None
        toggled = field if current and descending else f"-{field}" if current else field
        columns.append({"label": label, "url": link(ordering=toggled), "aria_sort": aria})

    rows = page.rows if page else []
    # The page's place in the list: its first row's number travels with the page links
    # ("pos"); keyset pages know no offset, and the first page starts at 1.
    start = 1 if not (after or before) else _int(query.get("pos"))
    if page and before and not page.previous_cursor:
        start = 1  # back at the start
    if page and not page.next_cursor and not page.previous_cursor and not (after or before):
        total, exact = len(rows), True  # the whole list is on this page: nothing to count
    elif page:
        total, exact = selectors.lead_table_total(
            actor=actor,
            list_type=list_type,
            filters=filters,
            page=(start or 1, len(rows)) if page.next_cursor else None,
        )
    else:
        total, exact = 0, True
    if start is not None and exact and start + len(rows) - 1 > total:
        start = None  # a "pos" that does not fit the list: say less rather than something false
    size = settings.CRM["LEADS_PAGE_SIZE"]
    next_url = previous_url = None
    if page and page.next_cursor:
        extra = {"pos": str(start + len(rows))} if start else {}
        next_url = link(after=page.next_cursor, **extra)
    if page and page.previous_cursor:
        extra = {"pos": str(max(1, start - size))} if start else {}
        previous_url = link(before=page.previous_cursor, **extra)
    selectable = {row.pk for row in rows if access.can_bulk_edit(actor, row)}
    # Filters in use besides the search, for the "Filters" button on narrow screens.
    active_filters = sum(1 for name in kept if name not in ("search", "ordering"))
    if kept.get("list_type") == "all":
        active_filters -= 1  # the default
    return {
        "columns": columns,
        "next_url": next_url,
        "previous_url": previous_url,
        "form": form,
        "page": page,
        "ordering": ordering,
        "query": kept,
        "export_url": f"{reverse('leads:export')}?{urlencode(kept)}",
        "bulk_choices": bulk_choices(actor, statuses=form.statuses, people=form.people),
        "can_bulk_delete": access.can_bulk_delete(actor),
        "can_bulk_assign": access.can_bulk_assign(actor),
        "can_assign_to_self": access.can_assign_to_self(actor),
        "can_bulk_change_owner": access.can_bulk_change_owner(actor),
        "can_give": access.can_give(actor),
        "selectable": selectable,
        "total": total,
        "total_exact": exact,
        "total_text": _amount(total, exact),
        "position": _position(start, len(rows), total, exact),
        # "Select all N matching": more leads match than this page shows.
        "more_matching": bool(page and (page.next_cursor or page.previous_cursor)),
        "active_filters": active_filters,
    }


@require_GET
@login_required
def lead_list(request: AuthedRequest) -> HttpResponse:
    context = _table_context(request, request.GET)
    response = render_page(request, "leads/list.html", context, partial="lead_table")
    if is_fragment(request):
        # The address bar shows the filters in use, not every empty field of the filter form.
        cursor = {k: request.GET[k] for k in ("after", "before", "pos") if request.GET.get(k)}
        query = urlencode({**context["query"], **cursor})
        response["HX-Push-Url"] = (
            f"{reverse('leads:list')}?{query}" if query else reverse("leads:list")
        )
    return response


# Leads changed per request by a "select all matching" action: one call of the batch
# services (leads.bulk, at most 500). A larger set goes on in further requests, each showing
# its progress; with JavaScript the next one starts by itself.
BATCH_SIZE = 500

VERBS = {
    "status": ("Changed the status of %(n)s lead.", "Changed the status of %(n)s leads."),
    "assign": ("Assigned %(n)s lead.", "Assigned %(n)s leads."),
    "owner": ("Gave %(n)s lead a new owner.", "Gave %(n)s leads a new owner."),
    "delete": ("Deleted %(n)s lead.", "Deleted %(n)s leads."),
}
DOING = {
    "status": "Changing the status of",
    "assign": "Assigning",
    "owner": "Changing the owner of",
    "delete": "Deleting",
}


def _done(request: AuthedRequest, action: str, changed: int) -> None:
    singular, plural = VERBS[action]
    messages.success(request, ngettext(singular, plural, changed) % {"n": f"{changed:,}"})


def _selected(request: AuthedRequest, actor, form: BulkForm) -> None:
    """The ticked leads (at most a page): each changed in its own transaction, refusals
    named lead by lead."""
    leads = selectors.visible_leads_by_slug(actor, form.cleaned_data["leads"])
    action = form.cleaned_data["action"]
    if action == "delete":
        changed, refused = services.leads_bulk_change(actor=actor, leads=leads, delete=True)
    else:
        changed, refused = services.leads_bulk_change(actor=actor, leads=leads, data=form.change())
    if changed:
        _done(request, action, changed)
    for lead, why in refused[:10]:
        messages.error(request, f"{lead}: {plain(why)}")
    if len(refused) > 10:
        messages.error(request, f"… and {len(refused) - 10} more not changed.")
    if not changed and not refused:
        messages.warning(request, "None of the selected leads could be found.")


def _matching(request: AuthedRequest, actor, form: BulkForm, back: QueryDict) -> dict | None:
    """One chunk of "all leads matching the filters": the next ``BATCH_SIZE`` ids after the
    last one done (a walk by id, no OFFSET), up to the largest id there was when it began,
    through the batch services. Returns the progress to show when more remain, else None
    (the outcome is in the messages)."""
    data = form.cleaned_data
    action = data["action"]
    list_form = LeadListForm(back, actor=actor)
    list_form.is_valid()
    list_type, filters = list_form.selection()
    try:
        upto = data.get("upto")
        if upto is None:
            upto = selectors.last_matching_lead_id(
                actor=actor, list_type=list_type, filters=filters
            )
        after = data.get("after") or 0
        ids = selectors.matching_lead_ids(
            actor=actor, list_type=list_type, filters=filters, after=after, upto=upto,
            limit=BATCH_SIZE,
        )  # fmt: skip
    except ValidationError:
        messages.error(request, "Fix the filters first: nothing was changed.")
        return None
    outcomes = bulk.leads_change_by_id(
        actor=actor,
        ids=ids,
        data=None if action == "delete" else form.change(),
        delete=action == "delete",
    )
    changed = (data.get("changed") or 0) + sum(1 for o in outcomes if o.ok)
    refused = (data.get("refused") or 0) + sum(1 for o in outcomes if not o.ok)
    reasons: dict[str, int] = {}
    for outcome in outcomes:
        if not outcome.ok:
            reasons[outcome.message] = reasons.get(outcome.message, 0) + 1
    for why, n in reasons.items():
        not_changed = ngettext("%(n)s lead not changed", "%(n)s leads not changed", n)
        messages.error(request, f"{not_changed % {'n': f'{n:,}'}}: {why}")
    if len(ids) == BATCH_SIZE:  # perhaps more: the next request goes on after the last id
        total = data.get("total")
        exact = bool(data.get("total_exact"))
        return {
            "action": action,
            "doing": DOING[action],
            "done": changed + refused,
            "total": total,
            "total_text": _amount(total, exact) if total is not None else None,
            "fields": {
                **{
                    k: v
                    for k, v in form.data.items()
                    if k in ("action", "status", "assignee", "owner", "query")
                },
                "scope": "matching",
                "confirmed": "yes" if data.get("confirmed") else "",
                "after": ids[-1],
                "upto": upto,
                "changed": changed,
                "refused": refused,
                "total": total if total is not None else "",
                "total_exact": "yes" if exact else "",
            },  # fmt: skip
        }
    if changed:
        _done(request, action, changed)
    elif not refused:
        messages.warning(request, "No leads match these filters.")
    return None


def _confirm(actor, form: BulkForm) -> dict:
    """What a bulk delete asks before it deletes: how many (and which, when they are few),
    and the same request again."""
    data = form.cleaned_data
    names: list[str] = []
    if form.matching:
        total, exact = data.get("total"), bool(data.get("total_exact"))
        if total is not None and exact:
            question = ngettext(
                "Delete the %(n)s lead matching the filters?",
                "Delete all %(n)s leads matching the filters?",
                total,
            ) % {"n": f"{total:,}"}
        else:
            question = "Delete every lead matching the filters?"
        button = "Delete all matching leads"
        slugs: list[str] = []
    else:
        leads = selectors.visible_leads_by_slug(actor, data["leads"])
        n = len(leads)
        question = ngettext("Delete %(n)s lead?", "Delete %(n)s leads?", n) % {"n": n}
        button = ngettext("Delete %(n)s lead", "Delete %(n)s leads", n) % {"n": n}
        names = sorted(str(lead) for lead in leads)[:10]
        slugs = [lead.slug for lead in leads]
    fields = [
        (k, v)
        for k in ("action", "scope", "query", "total", "total_exact")
        for v in form.data.getlist(k)
    ]
    fields += [("leads", slug) for slug in slugs]
    return {
        "question": question,
        "button": button,
        "fields": fields,
        "names": names,
        "more": max(0, len(slugs) - len(names)),
        "none": not form.matching and not slugs,
    }


@require_POST
@login_required
def lead_bulk(request: AuthedRequest) -> HttpResponse:
    actor = actor_of(request)
    form = BulkForm(request.POST, actor=actor)
    back = QueryDict(request.POST.get("query", ""))
    extra: dict = {}
    if form.is_valid():
        action = form.cleaned_data["action"]
        if action == "delete" and not form.cleaned_data["confirmed"]:
            extra["confirm"] = _confirm(actor, form)  # asked first; nothing deleted yet
            if extra["confirm"]["none"]:
                extra.pop("confirm")
                messages.warning(request, "None of the selected leads could be found.")
        elif form.matching:
            extra["progress"] = _matching(request, actor, form, back)
        else:
            _selected(request, actor, form)
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    if extra.get("confirm") or extra.get("progress"):
        context = {**_table_context(request, back), **extra}
        return render_page(request, "leads/list.html", context, partial="lead_table")
    if is_fragment(request):
        context = _table_context(request, back)
        return render_page(request, "leads/list.html", context, partial="lead_table")
    return redirect(f"{reverse('leads:list')}?{back.urlencode()}")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _safe(value, zone=None) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula; a date-time in the user's
    time zone, as a spreadsheet reads it ("2026-03-01 14:05")."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return timezone.localtime(value, zone).strftime("%Y-%m-%d %H:%M")
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# Excel on Windows reads a CSV file as UTF-8 only when it starts with a byte order mark.
BOM = "\ufeff"


@require_GET
@login_required
@heavy_read
def lead_export(request: AuthedRequest) -> StreamingHttpResponse | HttpResponse:
    actor = actor_of(request)
    form = LeadListForm(request.GET, actor=actor)
    if not form.is_valid():
        messages.error(request, "Fix the filters before exporting.")
        return redirect(f"{reverse('leads:list')}?{request.GET.urlencode()}")
    list_type, filters = form.selection()
    custom = [(f.system_name, f.label) for f in selectors.active_custom_fields()]
    rows = selectors.lead_export_rows(actor=actor, list_type=list_type, filters=filters)
    writer = csv.writer(_Echo())
    zone = timezone.get_current_timezone()  # the rows stream after the request's zone is reset

    def lines():
        header = [*selectors.EXPORT_COLUMNS, *(label for _, label in custom)]
        yield BOM + writer.writerow(header)
        for *values, custom_values in rows:
            cells = [_safe(v, zone) for v in values]
            cells += [_safe((custom_values or {}).get(name)) for name, _ in custom]
            yield writer.writerow(cells)

    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="leads-{stamp}.csv"'
    return response
