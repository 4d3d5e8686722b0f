"""The leads list: search, filters, sortable columns, keyset pages, bulk actions, CSV export.

The URL carries every filter, so a view of the list can be bookmarked and shared; with HTMX the
table is swapped in place and the URL pushed.
"""

from __future__ import annotations

import csv
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from crm.web import AuthedRequest, actor_of, is_fragment, render_page
from leads import access, selectors, services
from leads.list_forms import BulkForm, LeadListForm

# (column title, sort key of selectors.TABLE_SORTS)
SORTABLE = [
    ("Name", "last_name"),
    ("Email", "email"),
    ("Status", "status"),
    ("Created", "created_at"),
]


def _table_context(request: AuthedRequest, query: QueryDict) -> dict:
    actor = actor_of(request)
    form = LeadListForm(query, actor=actor)
    form.is_valid()  # invalid filters show their errors and are left out
    list_type, filters = form.selection()
    ordering = form.cleaned_data.get("ordering") or "-created_at"
    try:
        page = selectors.lead_table(
            actor=actor,
            list_type=list_type,
            filters=filters,
            ordering=ordering,
            after=query.get("after"),
            before=query.get("before"),
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
    return {
        "columns": columns,
        "next_url": link(after=page.next_cursor) if page and page.next_cursor else None,
        "previous_url": (
            link(before=page.previous_cursor) if page and page.previous_cursor else None
        ),
        "form": form,
        "page": page,
        "ordering": ordering,
        "query": kept,
        "export_url": f"{reverse('leads:export')}?{urlencode(kept)}",
        "bulk_form": BulkForm(actor=actor, statuses=form.statuses, people=form.people),
        "can_bulk_delete": access.can_bulk_delete(actor),
        "can_bulk_assign": access.can_bulk_assign(actor),
        "can_give": access.can_give(actor),
    }


@require_GET
@login_required
def lead_list(request: AuthedRequest) -> HttpResponse:
    context = _table_context(request, request.GET)
    response = render_page(request, "leads/list.html", context, partial="lead_table")
    if is_fragment(request):
        # The address bar shows the filters in use, not every empty field of the filter form.
        cursor = {k: request.GET[k] for k in ("after", "before") if request.GET.get(k)}
        query = urlencode({**context["query"], **cursor})
        response["HX-Push-Url"] = (
            f"{reverse('leads:list')}?{query}" if query else reverse("leads:list")
        )
    return response


@require_POST
@login_required
def lead_bulk(request: AuthedRequest) -> HttpResponse:
    actor = actor_of(request)
    form = BulkForm(request.POST, actor=actor)
    back = QueryDict(request.POST.get("query", ""))
    if form.is_valid():
        leads = selectors.visible_leads_by_slug(actor, form.cleaned_data["leads"])
        action = form.cleaned_data["action"]
        if action == "delete":
            changed, refused = services.leads_bulk_change(actor=actor, leads=leads, delete=True)
        else:
            changed, refused = services.leads_bulk_change(
                actor=actor, leads=leads, data=form.change()
            )
        verb = {"status": "Changed the status of", "assign": "Assigned", "delete": "Deleted"}
        if changed:
            messages.success(request, f"{verb[action]} {changed} lead(s).")
        for lead, why in refused[:10]:
            messages.error(request, f"{lead}: {why}")
        if len(refused) > 10:
            messages.error(request, f"… and {len(refused) - 10} more not changed.")
        if not changed and not refused:
            messages.warning(request, "None of the selected leads could be found.")
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    if is_fragment(request):
        context = _table_context(request, back)
        return render_page(request, "leads/list.html", context, partial="lead_table")
    return redirect(f"{reverse('leads:list')}?{back.urlencode()}")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _safe(value) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@require_GET
@login_required
def lead_export(request: AuthedRequest) -> StreamingHttpResponse | HttpResponse:
    actor = actor_of(request)
    form = LeadListForm(request.GET, actor=actor)
    if not form.is_valid():
        messages.error(request, "Fix the filters before exporting.")
        return redirect(f"{reverse('leads:list')}?{request.GET.urlencode()}")
    list_type, filters = form.selection()
    custom = [f.system_name for f in selectors.active_custom_fields()]
    rows = selectors.lead_export_rows(actor=actor, list_type=list_type, filters=filters)
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow([*selectors.EXPORT_COLUMNS, *custom])
        for *values, custom_values in rows:
            cells = [_safe(v) for v in values]
            cells += [_safe((custom_values or {}).get(name)) for name in custom]
            yield writer.writerow(cells)

    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="leads-{stamp}.csv"'
    return response
