"""Merge two leads (SPEC §8): pick them, compare them field by field, choose what to keep.

``/leads/merge/?a=<slug>&b=<slug>``: ``a`` is kept, ``b`` is merged into it and deleted. The
search that picks a lead answers HTMX requests with the list of matching leads only.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from crm.domain import DomainError
from crm.web import AuthedRequest, actor_of, plain, render_page
from leads import access, selectors, services
from leads.views.common import lead_or_404

CHOICE_PREFIX = "choose_"


def _merge_url(**params: str) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return reverse("leads:merge") + (f"?{query}" if query else "")


@require_http_methods(["GET", "POST"])
@login_required
def lead_merge(request: AuthedRequest) -> HttpResponse:
    if request.method == "POST":
        return _merge(request)
    actor = actor_of(request)
    a, b = request.GET.get("a", ""), request.GET.get("b", "")
    queryset = selectors.merge_queryset()
    keep = lead_or_404(request, a, queryset=queryset) if a else None
    other = lead_or_404(request, b, queryset=queryset) if b and keep else None
    # Not offered where it would be refused at the end (leads.access decides).
    if not access.can_bulk_delete(actor) or (keep and not access.can_merge_into(actor, keep)):
        messages.error(request, "You may not merge leads into this one.")
        return redirect("leads:detail", slug=keep.slug) if keep else redirect("leads:list")
    if keep and other and keep.pk != other.pk and not access.can_delete(actor, other):
        messages.error(request, f"You may not delete {other}, so you may not merge it.")
        return redirect(_merge_url(a=keep.slug))
    search = request.GET.get("q", "").strip()
    context: dict = {"keep": keep, "other": other, "q": search, "results": []}
    if keep is None or other is None:
        if search:
            context["results"] = selectors.merge_candidates(
                actor=actor, search=search, exclude=keep.slug if keep else None
            )
    elif keep.pk == other.pk:
        messages.error(request, "Choose two different leads to merge.")
        return redirect(_merge_url(a=keep.slug))
    else:
        context["comparison"] = selectors.merge_comparison(keep=keep, other=other)
        context["moves"] = selectors.merge_moves(other=other)
    return render_page(request, "leads/merge.html", context, partial="results")


def _merge(request: AuthedRequest) -> HttpResponse:
    keep = lead_or_404(request, request.POST.get("a", ""), queryset=selectors.merge_queryset())
    other = lead_or_404(request, request.POST.get("b", ""), queryset=selectors.merge_queryset())
    choices = {
        key.removeprefix(CHOICE_PREFIX): value
        for key, value in request.POST.items()
        if key.startswith(CHOICE_PREFIX)
    }
    name = str(other)
    try:
        services.lead_merge(actor=actor_of(request), keep=keep, other=other, choices=choices)
    except DomainError as exc:
        messages.error(request, f"Nothing was merged: {plain(exc.message)}")
        return redirect(_merge_url(a=keep.slug, b=other.slug))
    except ValidationError as exc:
        messages.error(request, "Nothing was merged: " + " ".join(exc.messages))
        return redirect(_merge_url(a=keep.slug, b=other.slug))
    messages.success(
        request,
        f"{name} was merged into {keep}: its notes, appointments and timeline are here now. "
        f"{name} is deleted; an administrator can restore it.",
    )
    return redirect("leads:detail", slug=keep.slug)
