"""The pipeline board: a column per status; moving a card changes the lead's status, by drag
and drop or by the keyboard-usable move menu on every card, fetched as it opens (without
JavaScript, a page of its own with a plain form)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from crm.domain import DomainError
from crm.web import AuthedRequest, actor_of, is_fragment, plain, render_page
from leads import access, selectors, services
from leads.forms import status_choices
from leads.list_forms import LIST_TYPES
from leads.views.common import lead_or_404

CARDS_PER_COLUMN = 25  # the newest per column; the rest are a click away in the list


def _list_type(value: str | None) -> str:
    return value if value in dict(LIST_TYPES) else "all"


def _board(request: AuthedRequest, list_type: str) -> HttpResponse:
    actor = actor_of(request)
    columns = selectors.pipeline(actor=actor, list_type=list_type, per_status=CARDS_PER_COLUMN)
    context = {
        "columns": columns,
        # Cards the user may move (change the status of): the others show no move controls.
        "movable": {
            lead.pk for _, _, cards in columns for lead in cards if access.can_edit(actor, lead)
        },
        "list_type": list_type,
        "list_types": LIST_TYPES,
        "per_column": CARDS_PER_COLUMN,
    }
    return render_page(request, "leads/pipeline.html", context, partial="board")


@require_GET
@login_required
def board(request: AuthedRequest) -> HttpResponse:
    return _board(request, _list_type(request.GET.get("list_type")))


@require_POST
@login_required
def move(request: AuthedRequest) -> HttpResponse:
    lead = lead_or_404(request, request.POST.get("slug", ""))
    status = request.POST.get("status", "")
    try:
        services.lead_update(actor=actor_of(request), lead=lead, data={"status": status})
    except (DomainError, ValidationError) as exc:
        why = exc.message if isinstance(exc, DomainError) else "; ".join(exc.messages)
        messages.error(request, f"{lead} was not moved: {plain(why)}")
    else:
        messages.success(request, f"{lead} moved to {lead.status.label}.")
    list_type = _list_type(request.POST.get("list_type"))
    if is_fragment(request):
        return _board(request, list_type)
    return redirect(f"{reverse('leads:pipeline')}?list_type={list_type}")


@require_GET
@login_required
def move_menu(request: AuthedRequest, slug: str) -> HttpResponse:
    """A card's Move menu, fetched when the user opens it (a board of 150 cards would carry
    150 forms otherwise); without JavaScript, a page of its own."""
    lead = lead_or_404(request, slug)
    if not access.can_edit(actor_of(request), lead):
        return HttpResponse(
            f"You may not change the status of {lead}.",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    context = {
        "lead": lead,
        "list_type": _list_type(request.GET.get("list_type")),
        "targets": [(k, label) for k, label in status_choices() if k != lead.status_id],
    }
    return render_page(request, "leads/pipeline_move.html", context, partial="move_menu")
