"""What the lead pages share: loading a lead the user may see, or 404."""

from __future__ import annotations

from django.http import Http404

from crm.domain import NotFound
from crm.web import HtmxHttpRequest, actor_of
from leads import access
from leads.models import Lead, LeadQuerySet


def lead_or_404(
    request: HtmxHttpRequest, slug: str, *, queryset: LeadQuerySet | None = None
) -> Lead:
    """The live lead ``slug`` if the signed-in user may see it; 404 otherwise (a lead one may
    not see behaves as if it did not exist)."""
    try:
        return access.lead_for_actor(actor_of(request), slug=slug, queryset=queryset)
    except NotFound:
        raise Http404("No such lead.") from None
