"""Shared pieces of the hostile-input tests: an operator with the admin scope, an
assertion nobody could have signed, and the client-authenticated form endpoints."""

from __future__ import annotations

import base64
import json
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authserver.context import Services
from authserver.scopes import ADMIN_REVOCATION
from conformance.tpp import Tpp
from tests.lifecycle import client_credentials_token
from tests.par import register

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FORM_ENDPOINTS = ("/par", "/token", "/revoke", "/introspect")


def operator_token(app: Flask, client: FlaskClient, svc: Services) -> str:
    """An access token with ``authserver:revoke``, so /admin/revocations parses the body."""
    ops = register(app, svc, "ops", scopes=[ADMIN_REVOCATION])
    return client_credentials_token(client, svc, ops, scope=ADMIN_REVOCATION)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_assertion(svc: Services, alg: str = "none", **claims: Any) -> str:
    """A compact JWS whose signature is garbage (or absent with alg none): the server must
    refuse it, and must not trip over its claims while doing so."""
    now = int(svc.clock.time())
    body = {"aud": svc.settings.issuer, "jti": "j", "iat": now, "exp": now + 60, **claims}
    header = _b64(json.dumps({"alg": alg}).encode())
    payload = _b64(json.dumps(body).encode())
    signature = "" if alg == "none" else _b64(b"garbage")
    return f"{header}.{payload}.{signature}"


def admin_post(client: FlaskClient, svc: Services, token: str, body: bytes) -> TestResponse:
    return client.post(
        "/admin/revocations",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        base_url=svc.settings.issuer,
    )


def tpp_token(client: FlaskClient, svc: Services, tpp: Tpp) -> str:
    return client_credentials_token(client, svc, tpp, scope="accounts:read")
