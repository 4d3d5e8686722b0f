"""The yardsticks of ``bench/scale.py``: the least a JSON API and an HTML page can do with the
same data (the 20 newest leads), served by the same server from the same database. The app's
cases are reported as a share of these, measured in the same run.

Served only by the benchmark's server (``bench.yardstick.Settings`` style: ``ROOT_URLCONF``
points here); never part of the app.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.template import engines
from django.urls import include, path
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.models import Lead

FIELDS = ["id", "slug", "first_name", "last_name", "email", "phone", "status", "created_at"]


class BareLeadSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lead
        fields = FIELDS


class BareDrfView(APIView):
    """A DRF view with no authentication, no throttles and no envelope."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def get(self, request):
        leads = Lead.objects.order_by("-id")[:20]
        return Response(BareLeadSerializer(leads, many=True).data)


PAGE = engines["django"].from_string(
    "<!doctype html><html lang=en><head><meta charset=utf-8><title>Leads</title></head><body>"
    "<table>{% for lead in leads %}<tr><td>{{ lead.first_name }} {{ lead.last_name }}</td>"
    "<td>{{ lead.email }}</td><td>{{ lead.phone }}</td><td>{{ lead.status_id }}</td>"
    "<td>{{ lead.created_at }}</td></tr>{% endfor %}</table></body></html>"
)


def bare_page(request):
    """A Django template page with no session, no login and no layout."""
    leads = Lead.objects.order_by("-id")[:20]
    return HttpResponse(PAGE.render({"leads": leads}))


urlpatterns = [
    path("bench/drf/", BareDrfView.as_view()),
    path("bench/page/", bare_page),
    path("", include("crm.urls")),
]
