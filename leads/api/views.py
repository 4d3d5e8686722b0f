"""REST endpoints for leads and notes: parse, call one service or selector, map its errors to
the documented messages."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from appointments.api.serializers import OverviewAppointmentSerializer
from crm.api.authentication import actor_of
from crm.api.envelope import ok, request_failed, validation_error
from crm.api.fields import validated
from crm.api.pagination import CURSOR, CountedPagination, cursor_page, keyset_order
from crm.api.schema import filter_parameters, page_of, page_parameters, text_rule
from crm.domain import NotFound
from crm.replica import heavy_read
from leads import access, selectors, services
from leads.api.serializers import (
    REQUIRED_AND_NOT_BLANK,
    LeadDetailSerializer,
    LeadInputSerializer,
    LeadSerializer,
    LeadUpdateInputSerializer,
    NoteIdInputSerializer,
    NoteInputSerializer,
    NoteSerializer,
    SlugInputSerializer,
)

LEAD_NOT_FOUND = "Requested lead not found."
SLUG_INVALID = "Requested slug is invalid."
NOTE_NOT_FOUND = "Requested note not found."
LEAD_DELETED = "Requested lead already has a deleted status."
OVERVIEW_WINDOWS = ("upcoming", "today", "week", "month")
# ``ordering`` values of cursor pages: the sortable columns, each walked by keyset on (it, id).
CURSOR_FIELDS = {"id": "id", **selectors.TABLE_SORTS}


def _lead_for_write(request: Request, slug: str):
    """The lead a write names (deleted ones included, for their documented message)."""
    try:
        lead = access.lead_for_actor(actor_of(request), slug=slug, include_deleted=True)
    except NotFound:
        raise validation_error("slug", LEAD_NOT_FOUND) from None
    if lead.is_deleted:
        raise validation_error("slug", LEAD_DELETED)
    return lead


class OverviewView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("appointment", enum=OVERVIEW_WINDOWS)],
        responses=OpenApiTypes.OBJECT,
    )
    @heavy_read
    def get(self, request: Request) -> Response:
        window = request.query_params.get("appointment") or "upcoming"
        if window not in OVERVIEW_WINDOWS:
            raise validation_error("appointment", "Invalid appointment filter value.")
        actor = actor_of(request)
        counts = selectors.overview(actor=actor)
        appointments = selectors.overview_appointment_values(
            actor=actor, window=window, columns=OverviewAppointmentSerializer.reads
        )
        return ok(
            {
                "LeadsData": {
                    "status": [
                        {
                            "status": s.key,
                            "count": n,
                            "Description": s.description,
                            "Color": s.color,
                        }
                        for s, n in counts["status"]
                    ],
                    "source": [{"source": s.key, "count": n} for s, n in counts["source"]],
                },
                "TotalLeads": counts["total"],
                "appointments": OverviewAppointmentSerializer.rows(appointments),
            }
        )


class LeadListView(APIView):
    @extend_schema(
        parameters=[
            *page_parameters(),
            OpenApiParameter(
                CURSOR,
                str,
                description=(
                    "Keyset pages instead of offsets: empty for the first page, then the "
                    "value in a page's next or previous link. Every page costs what the first "
                    f"does. Ordered by one field of {', '.join(CURSOR_FIELDS)} (ordering)."
                ),
            ),
            OpenApiParameter("list_type", enum=selectors.LIST_TYPES),
            *filter_parameters(
                selectors.LeadFilter,
                {
                    "ordering": "Comma-separated, ``-`` for descending; cursor pages take one.",
                },
            ),
        ],
        responses=page_of(LeadSerializer, "LeadPage"),
    )
    @heavy_read
    def get(self, request: Request) -> Response:
        params = request.query_params
        actor, list_type = actor_of(request), params.get("list_type")
        qs = selectors.lead_list(
            actor=actor, list_type=list_type, filters=params, columns=LeadSerializer.COLUMNS
        )
        if CURSOR in params:
            count, exact = selectors.lead_list_count(
                actor=actor, list_type=list_type, filters=params, leads=qs
            )
            return cursor_page(
                request, qs, LeadSerializer, fields=CURSOR_FIELDS, count=count, exact=exact
            )
        total, bound = selectors.lead_list_total(actor=actor, list_type=list_type, filters=params)
        paginator = CountedPagination()
        walk = keyset_order(params.get("ordering"), CURSOR_FIELDS)
        scope = f"{actor.user_id}:{actor.role}"
        page = paginator.page(qs, request, count=total, bound=bound, walk=walk, scope=scope)
        return paginator.get_paginated_response(LeadSerializer(page, many=True).data)


class LeadDetailView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("slug", {"type": "string", **text_rule(blank=False)}, required=True)
        ],
        responses=LeadDetailSerializer,
    )
    @heavy_read
    def get(self, request: Request) -> Response:
        slug = (request.query_params.get("slug") or "").strip()
        if not slug:
            raise validation_error("slug", REQUIRED_AND_NOT_BLANK)
        try:
            lead = access.lead_for_actor(
                actor_of(request), slug=slug, queryset=selectors.lead_detail_queryset()
            )
        except NotFound:
            raise validation_error("slug", SLUG_INVALID) from None
        return ok(LeadDetailSerializer(lead).data)


class CreateLeadView(APIView):
    @extend_schema(request=LeadInputSerializer, responses={201: LeadSerializer})
    def post(self, request: Request) -> Response:
        data, custom = validated(LeadInputSerializer, request).domain_input()
        lead = services.lead_create(actor=actor_of(request), data=data, custom=custom)
        return ok(LeadSerializer(lead).data, 201)


class UpdateLeadView(APIView):
    @extend_schema(request=LeadUpdateInputSerializer, responses=LeadSerializer)
    def post(self, request: Request) -> Response:
        serializer = validated(LeadUpdateInputSerializer, request)
        data, custom = serializer.domain_input()
        actor = actor_of(request)
        try:
            lead = access.lead_for_actor(actor, slug=data.pop("slug"))
        except NotFound:
            raise request_failed("Requested lead does not esixt.") from None
        lead = services.lead_update(actor=actor, lead=lead, data=data, custom=custom)
        return ok(LeadSerializer(lead).data)


class DeleteLeadView(APIView):
    @extend_schema(request=SlugInputSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        lead = _lead_for_write(
            request, validated(SlugInputSerializer, request).validated_data["slug"]
        )
        services.lead_delete(actor=actor_of(request), lead=lead)
        return ok({"slug": lead.slug, "status": lead.status_id})


class CreateNoteView(APIView):
    @extend_schema(request=NoteInputSerializer, responses={201: NoteSerializer})
    def post(self, request: Request) -> Response:
        data = validated(NoteInputSerializer, request).validated_data
        lead = _lead_for_write(request, data["slug"])
        note = services.note_create(actor=actor_of(request), lead=lead, text=data["note"])
        return ok(NoteSerializer(note).data, 201)


class DeleteNoteView(APIView):
    @extend_schema(request=NoteIdInputSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        note_id = validated(NoteIdInputSerializer, request).validated_data["note_id"]
        actor = actor_of(request)
        try:
            note = access.note_for_actor(actor, pk=note_id)
        except NotFound:
            raise validation_error("note_id", NOTE_NOT_FOUND) from None
        services.note_delete(actor=actor, note=note)
        return ok({"note_id": note_id})
