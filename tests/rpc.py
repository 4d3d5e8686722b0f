"""A JSON-RPC client as a partner's code uses it: POST a JSON body to /pubapi/<version>/ with
the account ID and secret key in the query string."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client


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
        body = self.call(method, params)
        assert body["error"] is None, body["error"]
        return body["result"]

    def error(self, method: str, params: Any = None) -> dict:
        body = self.call(method, params)
        assert body["result"] is None
        return body["error"]
