"""The v4.0 consent state machine: legal steps, illegal ones, history, and the migration."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from datetime import datetime

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.pool import NullPool

from authserver import migrate
from authserver.clock import FrozenClock
from authserver.consent import lifecycle
from authserver.consent.lifecycle import IllegalTransition
from authserver.consent.models import ACCOUNT_ACCESS
from authserver.consent.models import AUTH
from authserver.consent.models import AWAU
from authserver.consent.models import CANC
from authserver.consent.models import COND
from authserver.consent.models import DOMESTIC_PAYMENT
from authserver.consent.models import EXPD
from authserver.consent.models import RJCT
from authserver.consent.models import Consent
from authserver.consent.models import ConsentStatusHistory
from authserver.db import UTCDateTime
from authserver.db import db
from authserver.experience import experience

LEGAL = [(AWAU, AUTH), (AWAU, RJCT), (AUTH, CANC), (AUTH, EXPD)]
ILLEGAL = [
    (RJCT, AUTH),
    (CANC, AUTH),
    (EXPD, AUTH),
    (AUTH, AUTH),
    (AWAU, CANC),
    (AWAU, EXPD),
    (AWAU, AWAU),
    (AUTH, AWAU),
    (AUTH, RJCT),
    (CANC, EXPD),
]


@pytest.fixture
def context(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield
        db.session.rollback()


def new_consent(clock: FrozenClock) -> Consent:
    return lifecycle.create(
        client_id="tpp-one",
        scopes=["accounts"],
        at=clock.now(),
        actor="client:tpp-one",
        reason="created by the third party",
        details={"Permissions": ["ReadAccountsBasic"]},
    )


def consent_in(status: str, clock: FrozenClock) -> Consent:
    consent = new_consent(clock)
    if status != AWAU:
        first = AUTH if status in (AUTH, CANC, EXPD) else RJCT
        lifecycle.transition(consent, first, at=clock.now(), actor="test", reason="setup")
        if status in (CANC, EXPD):
            lifecycle.transition(consent, status, at=clock.now(), actor="test", reason="setup")
    return consent


def history_of(consent: Consent) -> list[ConsentStatusHistory]:
    db.session.flush()
    return list(
        db.session.scalars(
            sa.select(ConsentStatusHistory)
            .where(ConsentStatusHistory.consent_id == consent.id)
            .order_by(ConsentStatusHistory.at, ConsentStatusHistory.from_status.is_not(None))
        )
    )


def test_a_new_consent_awaits_authorisation_without_a_user(
    context: None, clock: FrozenClock
) -> None:
    consent = new_consent(clock)
    assert (consent.status, consent.kind, consent.user_id) == (AWAU, ACCOUNT_ACCESS, None)
    assert consent.selected_accounts == []
    assert consent.status_updated_at == clock.now()
    (created,) = history_of(consent)
    assert (created.from_status, created.to_status) == (None, AWAU)


@pytest.mark.parametrize(("from_status", "to_status"), LEGAL)
def test_legal_transition_changes_status_and_records_it(
    context: None, clock: FrozenClock, from_status: str, to_status: str
) -> None:
    consent = consent_in(from_status, clock)
    clock.advance(5)
    lifecycle.transition(consent, to_status, at=clock.now(), actor="user:alice", reason="why")
    assert consent.status == to_status
    assert consent.status_updated_at == clock.now()
    last = history_of(consent)[-1]
    assert (last.from_status, last.to_status) == (from_status, to_status)
    assert (last.actor, last.reason, last.at) == ("user:alice", "why", clock.now())


@pytest.mark.parametrize(("from_status", "to_status"), ILLEGAL)
def test_illegal_transition_raises_and_changes_nothing(
    context: None, clock: FrozenClock, from_status: str, to_status: str
) -> None:
    consent = consent_in(from_status, clock)
    before = len(history_of(consent))
    with pytest.raises(IllegalTransition):
        lifecycle.transition(consent, to_status, at=clock.now(), actor="test", reason="no")
    assert consent.status == from_status
    assert len(history_of(consent)) == before


def test_decision_goes_through_awau_and_revocation_records_who(
    app: Flask, clock: FrozenClock, user: str
) -> None:
    with app.app_context():
        consents = experience(app).consents
        consent = consents.decide(
            user_id=user, client_id="tpp-one", scopes=["openid"], approved=True, request_id="r"
        )
        clock.advance(1)
        assert consents.mark_revoked(consent.id, actor=f"user:{user}", reason="withdrawn")
        assert consent.status == CANC
        steps = [(h.from_status, h.to_status, h.actor) for h in history_of(consent)]
        assert steps == [
            (None, AWAU, "client:tpp-one"),
            (AWAU, AUTH, f"user:{user}"),
            (AUTH, CANC, f"user:{user}"),
        ]
        # A second withdrawal (a repeated DELETE) is not an error and adds nothing.
        assert consents.mark_revoked(consent.id, actor="client:tpp-one", reason="again")
        assert len(history_of(consent)) == 3
        db.session.rollback()


def test_a_rejected_decision_is_rjct_after_awau(app: Flask, user: str) -> None:
    with app.app_context():
        consent = experience(app).consents.decide(
            user_id=user, client_id="tpp-one", scopes=["openid"], approved=False, request_id="r"
        )
        assert [h.to_status for h in history_of(consent)] == [AWAU, RJCT]
        db.session.rollback()


USERS_0004 = sa.table(
    "users",
    sa.column("id", sa.String),
    sa.column("username", sa.String),
    sa.column("password_hash", sa.Text),
    sa.column("disabled", sa.Boolean),
    sa.column("created_at", UTCDateTime()),
)
CONSENTS_0004 = sa.table(
    "consents",
    sa.column("id", sa.String),
    sa.column("user_id", sa.String),
    sa.column("client_id", sa.String),
    sa.column("scopes", sa.JSON),
    sa.column("status", sa.String),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)


def test_migration_carries_old_consents_over(database_url: str) -> None:
    migrate.downgrade(database_url, "0004")
    engine = sa.create_engine(database_url, poolclass=NullPool)
    at = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.insert(USERS_0004),
                [
                    {
                        "id": "u-1",
                        "username": "alice",
                        "password_hash": "x",
                        "disabled": False,
                        "created_at": at,
                    }
                ],
            )
            connection.execute(
                sa.insert(CONSENTS_0004),
                [
                    {
                        "id": consent_id,
                        "user_id": "u-1",
                        "client_id": "tpp-one",
                        "scopes": [],
                        "status": status,
                        "created_at": at,
                        "updated_at": at,
                    }
                    for consent_id, status in (("c-auth", "Authorised"), ("c-revoked", "Revoked"))
                ],
            )
        migrate.upgrade(database_url)
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT id, status, kind FROM consents ORDER BY id")
            ).all()
            assert [tuple(row) for row in rows] == [
                ("c-auth", AUTH, ACCOUNT_ACCESS),
                ("c-revoked", CANC, ACCOUNT_ACCESS),
            ]
            history = connection.execute(
                sa.text(
                    "SELECT consent_id, to_status, reason FROM consent_status_history "
                    "ORDER BY consent_id"
                )
            ).all()
            assert [tuple(row) for row in history] == [
                ("c-auth", AUTH, "migrated"),
                ("c-revoked", CANC, "migrated"),
            ]
        migrate.downgrade(database_url, "0004")
        with engine.connect() as connection:
            back = connection.execute(sa.text("SELECT status FROM consents ORDER BY id")).all()
            assert [row[0] for row in back] == ["Authorised", "Revoked"]
    finally:
        engine.dispose()
        migrate.upgrade(database_url)


# -- domestic-payment consents: AWAU → AUTH | RJCT, AUTH → COND, nothing else --------------

PAYMENT_LEGAL = [(AWAU, AUTH), (AWAU, RJCT), (AUTH, COND)]
PAYMENT_ILLEGAL = [(AUTH, CANC), (AUTH, EXPD), (COND, AUTH), (COND, COND), (AWAU, COND)]


def payment_consent_in(status: str, clock: FrozenClock) -> Consent:
    consent = lifecycle.create(
        client_id="tpp-one",
        scopes=["payments:write"],
        at=clock.now(),
        actor="client:tpp-one",
        reason="created by the third party",
        kind=DOMESTIC_PAYMENT,
        details={"Initiation": {}},
    )
    for step in {AWAU: [], AUTH: [AUTH], COND: [AUTH, COND]}[status]:
        lifecycle.transition(consent, step, at=clock.now(), actor="test", reason="setup")
    return consent


@pytest.mark.parametrize(("from_status", "to_status"), PAYMENT_LEGAL)
def test_a_payment_consent_makes_its_steps(
    context: None, clock: FrozenClock, from_status: str, to_status: str
) -> None:
    consent = payment_consent_in(from_status, clock)
    lifecycle.transition(consent, to_status, at=clock.now(), actor="t", reason="paid by p-1")
    last = history_of(consent)[-1]
    assert (last.from_status, last.to_status, last.reason) == (
        from_status,
        to_status,
        "paid by p-1",
    )


@pytest.mark.parametrize(("from_status", "to_status"), PAYMENT_ILLEGAL)
def test_a_payment_consent_refuses_other_steps(
    context: None, clock: FrozenClock, from_status: str, to_status: str
) -> None:
    consent = payment_consent_in(from_status, clock)
    with pytest.raises(IllegalTransition):
        lifecycle.transition(consent, to_status, at=clock.now(), actor="test", reason="no")
    assert consent.status == from_status


def test_an_account_access_consent_is_never_consumed(context: None, clock: FrozenClock) -> None:
    consent = consent_in(AUTH, clock)
    with pytest.raises(IllegalTransition):
        lifecycle.transition(consent, COND, at=clock.now(), actor="test", reason="no")
