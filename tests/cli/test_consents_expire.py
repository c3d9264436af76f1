"""``authserver consents expire``: authorised consents past their expiry become EXPD, with
their history and audit rows, and their tokens die; a second run changes nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask

from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.db import db
from authserver.experience import experience
from authserver.revocation.models import RevocationWatermark
from tests.cli.test_cli import run_cli
from tests.openbanking import consent_events
from tests.openbanking import history
from tests.openbanking import status_of
from tests.revocation import claims_of
from tests.revocation.test_bulk import restarted_app_refuses


def set_expiry(app: Flask, consent_id: str, when: Any) -> None:
    with app.app_context():
        consent = experience(app).consents.get(consent_id)
        assert consent is not None
        consent.expires_at = when
        db.session.commit()


def authorised_consent(app: Flask, services_: Services, user: str, expires_at: Any) -> str:
    with app.app_context():
        view = services_.consents.create(
            client_id="tpp-one",
            kind="account_access",
            scopes=["accounts:read"],
            details={"Permissions": ["ReadAccountsBasic"]},
            expires_at=expires_at,
            request_id="test",
        )
        experience(app).consents.authorise(
            view.consent_id, user_id=user, accounts=["acc-1"], request_id="test"
        )
        return view.consent_id


def test_expire_moves_only_consents_past_expiry_and_revokes_their_tokens(
    app: Flask,
    services_: Services,
    cli_env: dict[str, str],
    make_settings: Any,
    clock: FrozenClock,
    tokens: dict[str, Any],
    user: str,
) -> None:
    expired = str(claims_of(tokens["access_token"])["consent_id"])
    set_expiry(app, expired, clock.now() - timedelta(seconds=1))
    current = authorised_consent(app, services_, user, clock.now() + timedelta(days=1))

    result = run_cli(cli_env, "consents", "expire", "--json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"expired": 1, "consent_ids": [expired]}
    assert (status_of(app, expired), status_of(app, current)) == ("EXPD", "AUTH")
    assert history(app, expired)[-1] == ("AUTH", "EXPD", "system", "expired")
    assert [step[1] for step in history(app, current)] == ["AWAU", "AUTH"]
    types = [event["type"] for event in consent_events(app, expired)]
    assert types[-2:] == ["consent.expired", "consent.tokens_revoked"]
    with app.app_context():
        marks = db.session.scalars(
            sa.select(RevocationWatermark.target).where(RevocationWatermark.kind == "consent")
        ).all()
    assert marks == [expired]
    restarted_app_refuses(make_settings, clock, tokens["access_token"])

    again = run_cli(cli_env, "consents", "expire")

    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "expired 0 consent(s)"
    assert len(history(app, expired)) == 3
    assert [e["type"] for e in consent_events(app, expired)] == types
