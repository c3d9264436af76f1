"""UK Open Banking v4.0: the consent request parser and the account-access consent API.

What the API tests share: calling the consent endpoints with real client-credentials
tokens of a registered TPP, and reading a consent's status, history and audit events.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authserver.audit.models import AuditEvent
from authserver.consent.models import ConsentStatusHistory
from authserver.context import Services
from authserver.db import db
from authserver.experience import experience
from authserver.openbanking.envelope import AISP_PREFIX

CONSENTS = AISP_PREFIX + "/account-access-consents"


def consent_body(**data: Any) -> dict[str, Any]:
    return {"Data": {"Permissions": ["ReadAccountsBasic"], **data}, "Risk": {}}


def call(
    client: FlaskClient,
    svc: Services,
    method: str,
    path: str,
    token: str | None,
    *,
    json: Any = None,
    headers: dict[str, str] | None = None,
    **options: Any,
) -> TestResponse:
    sent = dict(headers or {})
    if token is not None and "Authorization" not in sent:
        sent["Authorization"] = f"Bearer {token}"
    return client.open(
        path, method=method, json=json, headers=sent, base_url=svc.settings.issuer, **options
    )


def create(client: FlaskClient, svc: Services, token: str, **data: Any) -> dict[str, Any]:
    response = call(client, svc, "POST", CONSENTS, token, json=consent_body(**data))
    assert response.status_code == 201, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def ob_errors(response: TestResponse, status: int) -> list[tuple[str, str | None]]:
    """The ``(ErrorCode, Path)`` pairs of an ``OBErrorResponse1`` with ``status``."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    return [(e["ErrorCode"], e.get("Path")) for e in response.get_json()["Errors"]]


def status_of(app: Flask, consent_id: str) -> str:
    with app.app_context():
        consent = experience(app).consents.get(consent_id)
        assert consent is not None
        return consent.status


def history(app: Flask, consent_id: str) -> list[tuple[str | None, str, str, str]]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(ConsentStatusHistory)
            .where(ConsentStatusHistory.consent_id == consent_id)
            .order_by(ConsentStatusHistory.at, ConsentStatusHistory.from_status.is_not(None))
        ).all()
        return [(r.from_status, r.to_status, r.actor, r.reason) for r in rows]


def consent_events(app: Flask, consent_id: str) -> list[dict[str, Any]]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.resource == f"consent:{consent_id}")
            .where(AuditEvent.event_type.like("consent.%"))
            .order_by(AuditEvent.id)
        ).all()
        return [
            {
                "type": r.event_type,
                "actor": r.actor,
                "request_id": r.request_id,
                "changes": r.changes,
            }
            for r in rows
        ]
