"""A small, real world to fuzz: one app, one TPP with real keys, an authorised account
consent and an authorised payment consent, and DPoP-bound tokens for each kind of call.

Built outside pytest too (``.ci/fuzz.py``): a migrated SQLite file in a folder, or the
database and Redis named by the caller. The clock is frozen, so proofs and tokens stay
valid however long a run takes; rate-limit budgets are out of reach.
"""

from __future__ import annotations

import urllib.parse
import uuid
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authserver import create_app
from authserver import migrate
from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.context import services
from authserver.db import db
from authserver.experience import experience
from authserver.settings import load_settings
from authserver.tokens.access_token import TokenSubject
from tests.accounts.kit import issue_token
from tests.lifecycle import client_credentials_token
from tests.ob_consents import create_consent
from tests.ob_consents import seed_accounts
from tests.payments.kit import PispCaller
from tests.payments.kit import authorise
from tests.payments.kit import create_consent as create_payment_consent
from tests.payments.kit import debtor_account
from tppkit import PrivateKey
from tppkit import Tpp
from tppkit import dpop_proof
from tppkit import generate_key
from tppkit.ob_signing import ob_signature
from tppkit.registration import register_tpp

# FUZZ-ONLY master key (a throw-away world); never a deployment's.
MASTER_KEY = "ZnV6ei1vbmx5LW1hc3Rlci1rZXktMDAwMDAwMDAwMDA"
UNREACHED = "1000000000/minute"
BUDGETS = ("starter", "growth", "enterprise", "par", "token", "consents", "payments")
ISSUER = "https://as.example.test"


@dataclass
class Caller:
    """A DPoP key and its access token; calls any path of the app, signing OB bodies."""

    client: FlaskClient
    svc: Services
    tpp: Tpp
    token: str
    key: PrivateKey

    def call(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        content_type: str | None = "application/json",
    ) -> TestResponse:
        url = ISSUER + path
        now = int(self.svc.clock.time())
        sent = {
            "Authorization": f"DPoP {self.token}",
            "DPoP": dpop_proof(self.key, method, url, access_token=self.token, iat=now),
        }
        if method == "POST" and body is not None:
            sent["x-idempotency-key"] = uuid.uuid4().hex
            sent["x-jws-signature"] = ob_signature(
                self.tpp.key, body, client_id=self.tpp.client_id, alg=self.tpp.alg, iat=now
            )
        sent.update(headers or {})
        full = path + ("?" + urllib.parse.urlencode(query, doseq=True) if query else "")
        return self.client.open(
            full,
            method=method,
            data=body,
            headers=sent,
            content_type=content_type if body is not None else None,
            base_url=ISSUER,
        )


@dataclass
class World:
    app: Flask
    svc: Services
    tpp: Tpp
    client_credentials: Caller
    """accounts:read payments:write, no consent: the consent endpoints."""
    account_reader: Caller
    """An authorised account-access consent: the accounts endpoints."""
    payer: Caller
    """An authorised payment consent: the domestic-payment endpoints."""
    account_id: str
    account_consent: str
    payment_consent: str

    def close(self) -> None:
        services(self.app).revocation_view.close()
        services(self.app).client_cache.close()
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


def _settings(folder: Path, database_url: str | None, redis_url: str | None) -> Any:
    if database_url is None:
        database_url = f"sqlite:///{folder / 'fuzz.db'}"
        migrate.upgrade(database_url)
    return load_settings(
        env="test",
        issuer=ISSUER,
        instance_path=folder / "instance",
        database_url=database_url,
        redis_url=redis_url,
        redis_prefix=f"fuzz:{uuid.uuid4().hex[:8]}:",
        master_key=MASTER_KEY,
        log_level="ERROR",
        audit={"chain_seconds": 0},
        ratelimit=dict.fromkeys(BUDGETS, UNREACHED),
    )


def _caller(world_app: Flask, svc: Services, tpp: Tpp, user_id: str, consent_id: str) -> Caller:
    key = generate_key("ES256")
    scopes = ("accounts:read", "payments:write")
    subject = TokenSubject(
        sub=user_id,
        scopes=scopes,
        user_id=user_id,
        consent_id=consent_id,
        dpop_jkt=str(key.thumbprint()),
    )
    token = issue_token(world_app, svc, tpp.client_id, subject)
    return Caller(world_app.test_client(), svc, tpp, token, key)


def build_world(
    folder: Path, database_url: str | None = None, redis_url: str | None = None
) -> World:
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    app = create_app(_settings(folder, database_url, redis_url), clock=clock)
    svc = services(app)
    client = app.test_client()
    tpp = register_tpp(app, "fuzz-tpp", scopes=["openid", "accounts:read", "payments:write"])
    with app.app_context():
        user_id = experience(app).users.create("fuzz-user", "fuzz-password-1", actor="fuzz").user.id
    accounts = seed_accounts(app, user_id)
    consent_id = create_consent(app, svc, tpp.client_id)
    with app.app_context():
        experience(app).consents.authorise(
            consent_id, user_id=user_id, accounts=[accounts[0].account_id], request_id="fuzz"
        )
        db.session.commit()
    key = generate_key("ES256")
    scope = "accounts:read payments:write"
    token = client_credentials_token(client, svc, tpp, scope=scope, dpop_key=key)
    cc = PispCaller(client, svc, tpp, token, key)
    payments = Caller(client, svc, tpp, token, key)
    debtor_account(app, svc, user_id)
    payment_consent = create_payment_consent(cc)
    authorise(app, payment_consent, user_id)
    return World(
        app=app,
        svc=svc,
        tpp=tpp,
        client_credentials=payments,
        account_reader=_caller(app, svc, tpp, user_id, consent_id),
        payer=_caller(app, svc, tpp, user_id, payment_consent),
        account_id=accounts[0].account_id,
        account_consent=consent_id,
        payment_consent=payment_consent,
    )
