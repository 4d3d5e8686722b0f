"""A JSON-RPC client as a partner's code uses it: POST a JSON body to /pubapi/<version>/ with
the account ID and secret key in the query string."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

# Where a batch method's result keeps its per-object results.
OBJECT_RESULTS = ("creates", "updates", "deletes", "calls")


def checked_result(body: dict) -> dict:
    """A successful call's result. For a batch method the top-level ``error`` must list the
    failed objects' ``error`` values, equal and in order, as the production API does (``None``
    when every object succeeded); any other method's ``error`` must be ``None``."""
    result = body["result"]
    assert isinstance(result, dict), body
    keys = [key for key in OBJECT_RESULTS if key in result]
    if not keys:
        assert body["error"] is None, body["error"]
        return result
    failed = [entry["error"] for entry in result[keys[0]] if entry["error"] is not None]
    assert body["error"] == (failed or None), body
    return result


class RpcClient:
    def __init__(self, key: str, version: str = "v1") -> None:
        self.account_id, _dot, self.secret = key.partition(".")
        self.version = version
        self.client = Client()

    def url(self, **query: str) -> str:
        auth = {"accountID": self.account_id, "secretKey": self.secret, **query}
        pairs = "&".join(f"{k}={v}" for k, v in auth.items() if v is not None)
        return f"/pubapi/{self.version}/?{pairs}"

    def raw(self, body: bytes | str, **query: str):
        return self.client.generic("POST", self.url(**query), body, "application/json")

    def send(self, payload: Any, **query: str):
        return self.raw(json.dumps(payload), **query)

    def call(self, method: str, params: Any = None, request_id: Any = "req-1") -> dict:
        """The whole answer of a call, checked for the envelope every answer has."""
        response = self.send({"method": method, "params": params or {}, "id": request_id})
        body = response.json()
        assert list(body) == ["result", "error", "id"]
        assert body["id"] == request_id
        return body

    def result(self, method: str, params: Any = None) -> dict:
        return checked_result(self.call(method, params))

    def error(self, method: str, params: Any = None) -> dict:
        body = self.call(method, params)
        assert body["result"] is None
        return body["error"]
