"""The consent state machine (UK Open Banking v4.0 status codes).

Per kind: an account-access consent goes AWAU → AUTH | RJCT and AUTH → CANC | EXPD; a
domestic-payment consent AWAU → AUTH | RJCT and AUTH → COND (consumed: its one payment
was made); nothing else. Every change, and the creation
itself, appends a ``ConsentStatusHistory`` row in the caller's unit of work (the caller
commits), so the history always matches the status.

A change is a compare-and-set on the row (``UPDATE ... WHERE status = <from>``): two
processes moving the same consent at once (a cron ``consents expire`` on every node, a
TPP's DELETE racing the user's withdrawal) cannot both succeed, so each consent makes
each step once and its history never shows it twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update

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
from authserver.db import db
from authserver.metrics import CONSENT_TRANSITIONS

TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    ACCOUNT_ACCESS: {
        AWAU: frozenset({AUTH, RJCT}),
        AUTH: frozenset({CANC, EXPD}),
    },
    # v4.0 payment consents: authorised once, consumed by their one payment.
    DOMESTIC_PAYMENT: {
        AWAU: frozenset({AUTH, RJCT}),
        AUTH: frozenset({COND}),
    },
}


class IllegalTransition(Exception):  # noqa: N818 -- the domain's name for it
    """A status change the v4.0 lifecycle does not allow."""

    def __init__(self, from_status: str, to_status: str) -> None:
        super().__init__(f"consent cannot go from {from_status} to {to_status}")
        self.from_status = from_status
        self.to_status = to_status


class ConcurrentTransition(IllegalTransition):  # noqa: N818 -- an IllegalTransition
    """Another unit of work moved the consent first; this one changed nothing."""


def can_transition(from_status: str, to_status: str, kind: str = ACCOUNT_ACCESS) -> bool:
    return to_status in TRANSITIONS.get(kind, {}).get(from_status, frozenset())


def create(
    *,
    client_id: str,
    scopes: list[str],
    at: datetime,
    actor: str,
    reason: str,
    kind: str = ACCOUNT_ACCESS,
    user_id: str | None = None,
    details: dict[str, Any] | None = None,
    consent_id: str | None = None,
) -> Consent:
    """A new consent in AWAU, flushed so it has its id, with its first history row;
    ``consent_id`` is an id chosen beforehand (else the column's default makes one)."""
    consent = Consent(
        kind=kind,
        user_id=user_id,
        client_id=client_id,
        scopes=scopes,
        status=AWAU,
        details=details,
        selected_accounts=[],
        created_at=at,
        updated_at=at,
        status_updated_at=at,
        expires_at=None,
    )
    if consent_id is not None:
        consent.id = consent_id
    db.session.add(consent)
    db.session.flush()
    db.session.add(
        ConsentStatusHistory(
            consent_id=consent.id,
            from_status=None,
            to_status=AWAU,
            at=at,
            actor=actor,
            reason=reason,
        )
    )
    return consent


def transition(
    consent: Consent, to_status: str, *, at: datetime, actor: str, reason: str
) -> ConsentStatusHistory:
    """Move ``consent`` to ``to_status`` or raise ``IllegalTransition``; record the step."""
    from_status = consent.status
    if not can_transition(from_status, to_status, consent.kind):
        raise IllegalTransition(from_status, to_status)
    moved = db.session.execute(
        update(Consent)
        .where(Consent.id == consent.id, Consent.status == from_status)
        .values(status=to_status, status_updated_at=at, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    if getattr(moved, "rowcount", 0) != 1:
        raise ConcurrentTransition(from_status, to_status)
    consent.status = to_status
    consent.status_updated_at = at
    consent.updated_at = at
    entry = ConsentStatusHistory(
        consent_id=consent.id,
        from_status=from_status,
        to_status=to_status,
        at=at,
        actor=actor,
        reason=reason,
    )
    db.session.add(entry)
    CONSENT_TRANSITIONS.labels(consent.kind, to_status).inc()
    return entry
