"""Token revocation (RFC 7009) and bulk revocation by watermark: the kit both test files share.

Tokens are obtained through the real endpoints (PAR → login → consent → code → token, or
client_credentials) with client assertions built from the server's frozen clock. Whether
a token is alive is asked of a resource server: ``/userinfo`` for user tokens (it needs
``openid``), ``/introspect`` for client_credentials tokens (which never carry ``openid``).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from authserver.audit.models import AuditEvent
from authserver.context import Services
from authserver.db import db
from conformance.tpp import Browser
from conformance.tpp import Tpp
from conformance.tpp import query_params
from tests.flow_fixtures import PASSWORD
from tests.flow_fixtures import USERNAME
from tests.par import Authorized
from tests.par import frozen_auth
from tests.par import post_form
from tests.par import push
from tests.par import redeem

# Revocation reaches a process's local view through the store's channel (a listener
# thread); RFC 7009 §2.2 allows that propagation delay, so "refused" is awaited this long.
PROPAGATION_SECONDS = 3.0


def code_flow_tokens(
    client: FlaskClient,
    browser: Browser,
    svc: Services,
    tpp: Tpp,
    *,
    username: str = USERNAME,
    password: str = PASSWORD,
) -> dict[str, Any]:
    """A full PAR → login → consent → code → token run; the token response's JSON."""
    pushed = push(client, svc, tpp)
    raw = browser.authorize(tpp, pushed.request_uri, username=username, password=password)
    assert raw.status == 303, raw.text
    assert raw.location.startswith(tpp.redirect_uri), raw.location
    flow = Authorized(pushed, raw, query_params(raw.location))
    response = redeem(client, svc, tpp, flow)
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    assert body["refresh_token"]
    return body


def client_credentials(
    client: FlaskClient, svc: Services, tpp: Tpp, scope: str | None = None
) -> TestResponse:
    form = {"grant_type": "client_credentials", **frozen_auth(tpp, svc)}
    if scope is not None:
        form["scope"] = scope
    return post_form(client, svc, "/token", form)


def client_credentials_token(
    client: FlaskClient, svc: Services, tpp: Tpp, scope: str | None = None
) -> str:
    response = client_credentials(client, svc, tpp, scope)
    assert response.status_code == 200, response.get_data(as_text=True)
    token: str = response.get_json()["access_token"]
    return token


def refresh(client: FlaskClient, svc: Services, tpp: Tpp, refresh_token: str) -> TestResponse:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return post_form(client, svc, "/token", {**form, **frozen_auth(tpp, svc)})


def revoke(
    client: FlaskClient, svc: Services, tpp: Tpp, token: str, hint: str | None = None
) -> TestResponse:
    """POST /revoke authenticated as ``tpp``."""
    form = {"token": token, **frozen_auth(tpp, svc)}
    if hint is not None:
        form["token_type_hint"] = hint
    return post_form(client, svc, "/revoke", form)


def userinfo(client: FlaskClient, svc: Services, token: str) -> TestResponse:
    headers = {"Authorization": f"Bearer {token}"}
    return client.get("/userinfo", headers=headers, base_url=svc.settings.issuer)


def introspect(client: FlaskClient, svc: Services, rs: Tpp, token: str) -> dict[str, Any]:
    """The resource server ``rs`` asks /introspect about ``token``."""
    form = {"token": token, **frozen_auth(rs, svc)}
    response = post_form(client, svc, "/introspect", form)
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def admin_revoke(client: FlaskClient, svc: Services, token: str | None, body: Any) -> TestResponse:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(
        "/admin/revocations", json=body, headers=headers, base_url=svc.settings.issuer
    )


def claims_of(token: str) -> dict[str, Any]:
    """A JWT's claims, unverified (the server verified them when it accepted the token)."""
    part = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return claims


def assert_invalid_token(response: TestResponse) -> None:
    """RFC 6750 §3.1: 401 invalid_token, named in the Bearer challenge too."""
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.get_json()["error"] == "invalid_token"
    challenges = response.headers.getlist("WWW-Authenticate")
    assert 'Bearer error="invalid_token"' in challenges, challenges


def eventually(probe: Callable[[], TestResponse], status: int) -> TestResponse:
    """Repeat ``probe`` until it answers ``status`` (or the propagation bound passes)."""
    deadline = time.monotonic() + PROPAGATION_SECONDS
    response = probe()
    while response.status_code != status and time.monotonic() < deadline:
        time.sleep(0.02)
        response = probe()
    return response


def refused_at_userinfo(client: FlaskClient, svc: Services, token: str) -> None:
    assert_invalid_token(eventually(lambda: userinfo(client, svc, token), 401))


def inactive_at_introspection(client: FlaskClient, svc: Services, rs: Tpp, token: str) -> None:
    deadline = time.monotonic() + PROPAGATION_SECONDS
    while introspect(client, svc, rs, token)["active"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert introspect(client, svc, rs, token) == {"active": False}


def audit_events(app: Flask, event_type: str) -> list[dict[str, Any]]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event_type == event_type).order_by(AuditEvent.id)
        ).all()
        return [
            {"actor": row.actor, "resource": row.resource, "changes": row.changes} for row in rows
        ]
