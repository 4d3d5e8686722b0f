"""Partner calls racing on one email never make two leads: createLeads refuses the losers
with 301, and lead_set's match_update updates the lead the winner made. Each burst is
released together with a barrier against the live server (one database connection per
request thread); on SQLite writes are serialized, on PostgreSQL per-email advisory locks do it.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from crm.services import api_key_create
from leads.models import Lead

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BURST = 8
EMAIL = "racing@example.com"


@pytest.fixture
def server(live_server) -> str:
    live_server.thread.httpd.socket.listen(4 * BURST)  # room for the whole burst
    return live_server.url


@pytest.fixture
def key() -> str:
    return api_key_create(name="Racing integration")[1]


def burst(send) -> list:
    barrier = threading.Barrier(BURST)

    def one(i: int):
        barrier.wait()
        return send(i)

    with ThreadPoolExecutor(BURST) as pool:
        return list(pool.map(one, range(BURST)))


def test_concurrent_create_leads_with_one_email_make_one_lead(server, key):
    account_id, _dot, secret = key.partition(".")
    url = f"{server}/pubapi/v1/?accountID={account_id}&secretKey={secret}"

    def send(i: int) -> dict:
        body = {"method": "createLeads", "params": {"objects": [{"emailAddress": EMAIL}]}, "id": i}
        request = urllib.request.Request(
            url, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)["result"]["creates"][0]

    results = burst(send)
    assert sorted(r["success"] for r in results) == ["false"] * (BURST - 1) + ["true"]
    assert {r["error"]["code"] for r in results if r["error"]} == {301}
    assert Lead.objects.filter(email=EMAIL).count() == 1


def test_concurrent_lead_set_matching_on_one_email_make_one_lead(server, key):
    def send(i: int) -> dict:
        form = {"mode": "insert", "match_update": "1", "email": EMAIL, "city": f"City {i}"}
        request = urllib.request.Request(
            f"{server}/api/service/lead_set/",
            urllib.parse.urlencode(form).encode(),
            {"apikey": key},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)

    answers = burst(send)
    assert [a["status"] for a in answers] == [0] * BURST
    messages = sorted(a["status_message"] for a in answers)
    assert messages == ["Lead Creation Successful"] + ["Lead Update Successful"] * (BURST - 1)
    assert {a["lead_id"] for a in answers} == {Lead.objects.get(email=EMAIL).pk}
