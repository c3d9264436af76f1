"""The access-token ledger: SQL first, then a deny-set that fails closed."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.db import db
from authserver.settings import Settings
from authserver.store import StoreUnavailableError
from authserver.tokens.models import IssuedAccessToken
from tests.helpers import closed_port as _closed_port
from tests.tokens import CLIENT_ID
from tests.tokens import built_services


def record(
    svc: Services,
    *,
    code_id: str | None = None,
    family_id: str | None = None,
    lifetime: float = 300,
) -> str:
    jti = str(uuid.uuid4())
    now = svc.clock.now()
    svc.ledger.record(
        jti=jti,
        client_id=CLIENT_ID,
        user_id=None,
        family_id=family_id,
        code_id=code_id,
        consent_id=None,
        issued_at=now,
        expires_at=now + timedelta(seconds=lifetime),
    )
    return jti


def revoked_at_by_jti() -> dict[str, bool]:
    rows = db.session.execute(select(IssuedAccessToken.jti, IssuedAccessToken.revoked_at))
    return {jti: revoked_at is not None for jti, revoked_at in rows}


def test_revoke_code_revokes_only_that_codes_tokens(svc: Services) -> None:
    replayed = [record(svc, code_id="code-replayed") for _ in range(2)]
    other = record(svc, code_id="code-other")
    db.session.commit()

    assert svc.ledger.revoke_code("code-replayed") == 2

    assert [svc.ledger.is_revoked(jti) for jti in replayed] == [True, True]
    assert svc.ledger.is_revoked(other) is False
    assert revoked_at_by_jti() == {replayed[0]: True, replayed[1]: True, other: False}


def test_expired_tokens_are_revoked_in_sql_but_not_put_in_the_deny_set(
    svc: Services, clock: FrozenClock
) -> None:
    expired = record(svc, family_id="family-1", lifetime=10)
    live = record(svc, family_id="family-1", lifetime=300)
    db.session.commit()
    clock.advance(20)

    assert svc.ledger.revoke_family("family-1") == 1

    assert svc.ledger.is_revoked(expired) is False
    assert svc.ledger.is_revoked(live) is True
    assert revoked_at_by_jti() == {expired: True, live: True}


def test_is_revoked_fails_closed_when_the_store_is_unreachable(
    make_settings: Callable[..., Settings], clock: FrozenClock
) -> None:
    settings = make_settings(redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    with built_services(settings, clock) as svc, pytest.raises(StoreUnavailableError):
        svc.ledger.is_revoked(str(uuid.uuid4()))
