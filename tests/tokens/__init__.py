"""Refresh-token families and the access-token ledger (TOK-4), on real SQL and a real store."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from authserver import create_app
from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.context import services
from authserver.db import db
from authserver.settings import Settings
from authserver.tokens.models import RefreshToken
from authserver.tokens.refresh import Mint
from authserver.tokens.refresh import TokenResponse

CLIENT_ID = "tpp-client-1"
OTHER_CLIENT_ID = "tpp-client-2"
ACCESS_TTL = timedelta(seconds=300)


@contextmanager
def built_services(settings: Settings, clock: FrozenClock) -> Iterator[Services]:
    """A second app with its own settings, in its app context, disposed like the `app` fixture."""
    application: Flask = create_app(settings, clock=clock)
    try:
        with application.app_context():
            yield services(application)
    finally:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def make_mint(svc: Services) -> Mint:
    """A token-endpoint stand-in: records one access token of the new row's family."""

    def mint(head: RefreshToken) -> TokenResponse:
        jti = str(uuid.uuid4())
        now = svc.clock.now()
        svc.ledger.record(
            jti=jti,
            client_id=head.client_id,
            user_id=head.user_id,
            family_id=head.family_id,
            code_id=None,
            consent_id=head.consent_id,
            issued_at=now,
            expires_at=now + ACCESS_TTL,
        )
        return {"access_token": jti, "token_type": "Bearer"}

    return mint


def issue(svc: Services, client_id: str = CLIENT_ID) -> tuple[str, str]:
    """Start a committed family; returns the plaintext token and the family id."""
    token, row = svc.refresh.issue(
        client_id=client_id,
        user_id=str(uuid.uuid4()),
        consent_id=str(uuid.uuid4()),
        scope="openid accounts",
        auth_time=svc.clock.now(),
    )
    family_id = row.family_id
    db.session.commit()
    return token, family_id


def family_rows(family_id: str) -> list[RefreshToken]:
    """The family oldest first; rows made at one frozen instant: spent ones before the head."""
    return list(
        db.session.scalars(
            select(RefreshToken)
            .where(RefreshToken.family_id == family_id)
            .order_by(RefreshToken.created_at, RefreshToken.rotated_at.is_(None))
        )
    )
