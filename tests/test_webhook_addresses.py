"""Webhooks reach public internet addresses only (webhooks.addresses): refused when a partner
subscribes, and again when the worker connects, after resolving the name, to the very
address it checked."""

from __future__ import annotations

import socket

import pytest

from crm.services import api_key_create
from webhooks import addresses
from webhooks.delivery import post
from webhooks.models import Delivery, Subscription
from webhooks.services import subscription_create
from webhooks.tasks import deliver

# Each class of address a webhook must not reach, in the forms a URL can spell it.
NOT_PUBLIC = [
    "127.0.0.1",  # loopback
    "127.8.9.10",
    "10.0.0.1",  # private
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",  # link-local: cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",  # unspecified
    "224.0.0.1",  # multicast
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "192.0.2.10",  # documentation
    "::1",
    "::",
    "fe80::1",
    "fe80::1%eth0",
    "fc00::1",  # unique local
    "ff02::1",  # multicast
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "not an address",
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_addresses_that_are_not_public(address):
    assert not addresses.is_public(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses(address):
    assert addresses.is_public(address)


@pytest.fixture
def strict(settings):
    """The production rules: https only, public addresses only."""
    settings.WEBHOOKS = {**settings.WEBHOOKS, "ALLOW_HTTP": False, "ALLOW_PRIVATE": False}
    return settings.WEBHOOKS


REFUSED_URLS = [
    "https://169.254.169.254/latest/meta-data/",
    "https://127.0.0.1:5433/",
    "https://[::1]:6379/",
    "https://10.0.0.1/hook",
    "https://localhost/hook",  # a name that resolves to 127.0.0.1
    "https://LOCALHOST./hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://0.0.0.0/",
    "https://2130706433/",  # 127.0.0.1 as one number
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_subscribing_a_private_address_is_refused_with_a_json_rpc_error(rpc, strict, url):
    error = rpc.error("subscribeToLeadUpdates", {"url": url})
    param = error["data"]["params"][0]
    assert (error["code"], param["param"]) == (205, "url")
    assert "not a public address" in param["message"] or "valid" in param["message"]
    assert not Subscription.objects.exists()


def test_subscribing_needs_https_unless_allowed(rpc, strict):
    error = rpc.error("subscribeToLeadUpdates", {"url": "http://partner.example/hook"})
    assert error["data"]["params"][0]["message"] == "The webhook URL must use https."
    strict["ALLOW_HTTP"] = True
    assert rpc.result("subscribeToLeadUpdates", {"url": "http://partner.example/hook"})
    # A name that does not resolve today is kept: the worker checks it when it connects.
    assert rpc.result("subscribeToLeadUpdates", {"url": "https://partner.example/other"})
    assert Subscription.objects.count() == 2


def test_the_admin_form_refuses_them_too(client, users, strict):
    key, _raw = api_key_create(name="Partner integration")
    client.force_login(users["administrator"])
    response = client.post(
        "/admin/webhooks/subscription/add/", {"api_key": key.pk, "url": "https://localhost/x"}
    )
    assert response.status_code == 200
    assert "not a public address" in response.content.decode()
    assert not Subscription.objects.exists()


@pytest.fixture
def receiver():
    """An endpoint on 127.0.0.1 that answers 204 and counts the connections it accepts."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers["Content-Length"]))
            hits.append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], hits
    server.shutdown()
    server.server_close()


def test_the_worker_refuses_to_connect_to_a_private_address(receiver, strict):
    port, hits = receiver
    strict["ALLOW_HTTP"] = True
    for host in ("127.0.0.1", "localhost", "[::ffff:127.0.0.1]"):
        status, error = post(f"http://{host}:{port}/hook", b"{}", {}, timeout=2)
        assert status is None and "not a public address" in error, (host, error)
    assert hits == []  # nothing reached the receiver
    strict["ALLOW_PRIVATE"] = True  # a receiver on the operator's own network
    assert post(f"http://localhost:{port}/hook", b"{}", {}, timeout=2) == (204, "")
    assert hits == [f"localhost:{port}"]


def test_the_connection_goes_to_the_address_that_was_checked(receiver, settings, monkeypatch):
    """The name is resolved once per connection and the socket opened to that answer, so a
    name that answers differently a moment later (DNS rebinding) is never asked again."""
    port, hits = receiver
    answers = []

    def resolver(host, port_, *args, **kwargs):
        answers.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port_))]

    monkeypatch.setattr(addresses.socket, "getaddrinfo", resolver)
    # Allowed private addresses, so that the checked answer (127.0.0.1) is used.
    status, error = post(f"http://rebinding.example:{port}/hook", b"{}", {}, timeout=2)
    assert (status, error) == (204, "")
    assert answers == ["rebinding.example"] and hits == [f"rebinding.example:{port}"]


def test_a_refused_address_is_in_the_delivery_log(db, strict, monkeypatch):
    from tests.factories import LeadFactory
    from webhooks.tasks import dispatch_changes

    key, _raw = api_key_create(name="Partner integration")
    subscription, _secret = subscription_create(api_key=key, url="https://partner.example/hook")
    # The name now resolves to the cloud metadata address.
    monkeypatch.setattr(
        addresses.socket,
        "getaddrinfo",
        lambda host, port, *a, **k: [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))
        ],
    )
    LeadFactory(email="a-lead@example.com")
    dispatch_changes.call()
    delivery = Delivery.objects.get(subscription=subscription)
    assert deliver.call(delivery.pk) == "retry"
    (attempt,) = delivery.attempt_log.all()
    assert attempt.status_code is None
    assert "partner.example is not a public address (169.254.169.254)" in attempt.error
