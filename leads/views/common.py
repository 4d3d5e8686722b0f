"""What the lead pages share: loading a lead the user may see, or 404."""

from __future__ import annotations

from django.http import Http404

from crm.domain import NotFound
from crm.web import HtmxHttpRequest, actor_of
from leads import access, selectors
from leads.models import Lead, LeadQuerySet


def lead_or_404(
    request: HtmxHttpRequest, slug: str, *, queryset: LeadQuerySet | None = None
) -> Lead:
    """The live lead ``slug`` if the signed-in user may see it, with its people, status and
    source (``queryset``'s instead when given); 404 otherwise (a lead one may not see behaves
    as if it did not exist)."""
    actor = actor_of(request)
    try:
        if queryset is None:
            return selectors.lead_page(actor=actor, slug=slug)
        return access.lead_for_actor(actor, slug=slug, queryset=queryset)
    except NotFound:
        raise Http404("No such lead.") from None
