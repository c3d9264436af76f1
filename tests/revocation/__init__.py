"""Token revocation (RFC 7009) and bulk revocation by watermark: what the test files share.

Tokens are obtained through the real endpoints with the shared ``tests.lifecycle`` kit.
Whether a token is alive is asked of a resource server: ``/userinfo`` for user tokens (it
needs ``openid``), ``/introspect`` for client_credentials tokens (which never carry
``openid``).
"""

from __future__ import annotations

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
from tests.lifecycle import introspection
from tests.lifecycle import userinfo
from tppkit import Tpp
from tppkit import jwt_claims

# Revocation reaches a process's local view through the store's channel (a listener
# thread); RFC 7009 §2.2 allows that propagation delay, so "refused" is awaited this long.
PROPAGATION_SECONDS = 3.0


def admin_revoke(client: FlaskClient, svc: Services, token: str | None, body: Any) -> TestResponse:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(
        "/admin/revocations", json=body, headers=headers, base_url=svc.settings.issuer
    )


def claims_of(token: str) -> dict[str, Any]:
    """A JWT's claims, unverified (the server verified them when it accepted the token)."""
    return jwt_claims(token)


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
    while introspection(client, svc, rs, token)["active"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert introspection(client, svc, rs, token) == {"active": False}


def audit_events(app: Flask, event_type: str) -> list[dict[str, Any]]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event_type == event_type).order_by(AuditEvent.id)
        ).all()
        return [
            {"actor": row.actor, "resource": row.resource, "changes": row.changes} for row in rows
        ]
