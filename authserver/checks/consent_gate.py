"""The consent gate: how the protocol floor and the resource servers ask about consents
without importing them.

Grants, introspection, PAR, revocation and the open-banking resource endpoints need a
few answers about a consent (is it live for this client, what does it allow, create an
open-banking consent, mark it revoked or expired); ``consent/`` implements this
Protocol and the app factories wire it in, so these floors never import
``consent.models`` and the experience floor stays above them.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any
from typing import Protocol
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class ConsentView:
    """A read-only picture of one consent, enough for a resource server or a grant.

    ``status`` is the v4.0 code (AWAU, AUTH, RJCT, CANC, EXPD); ``live`` is true only
    for AUTH. ``details`` holds the kind's requested data as the TPP sent it
    (account access: Permissions and the date fields; payments: Initiation and Risk).
    """

    consent_id: str
    client_id: str
    user_id: str | None
    scopes: tuple[str, ...]
    live: bool
    kind: str = "account_access"
    status: str = "AUTH"
    details: Mapping[str, Any] = field(default_factory=dict)
    selected_accounts: tuple[str, ...] = ()
    created_at: datetime | None = None
    status_updated_at: datetime | None = None
    expires_at: datetime | None = None
    """ExpirationDateTime as an aware UTC datetime; None when open-ended."""

    @property
    def permissions(self) -> tuple[str, ...]:
        value = self.details.get("Permissions", ())
        return tuple(value) if isinstance(value, list | tuple) else ()


class ConsentNotAuthorisedError(Exception):
    """The consent was not AUTH when it was to be consumed (another use took it first, or
    it never was): nothing was changed or committed."""


class ConsentGate(Protocol):
    def is_live(self, consent_id: str, client_id: str) -> bool:
        """True only for an authorised, unexpired consent held by ``client_id``; an
        authorised consent found past its expiry is moved to EXPD on the way."""

    def view(self, consent_id: str) -> ConsentView | None:
        """What the consent allows and who holds it; None when there is no such consent.
        An authorised consent past its expiry is moved to EXPD first (committed), so
        every reader sees EXPD from the moment it is used after expiry."""

    def create(
        self,
        *,
        client_id: str,
        kind: str,
        scopes: list[str],
        details: Mapping[str, Any],
        expires_at: datetime | None,
        request_id: str,
        consent_id: str | None = None,
    ) -> ConsentView:
        """A new consent in AWAU, requested by ``client_id`` (committed, audited).
        ``consent_id``: an id chosen beforehand (a fresh UUID), for details sealed under
        it (a payment's account numbers); else one is made."""

    def mark_revoked(self, consent_id: str, *, actor: str, reason: str) -> bool:
        """Withdraw an authorised consent (AUTH → CANC, recorded with ``actor`` and
        ``reason``, committed with its audit event); a consent in any other status is
        left as it is. False when there is no such consent."""

    def reject_unauthorised(self, consent_id: str, *, actor: str, reason: str) -> bool:
        """The TPP withdraws a consent the user has not authorised yet: AWAU → RJCT (the
        v4.0 lifecycle has no AWAU → CANC), committed with its audit event; any other
        status is left as it is. False when there is no such consent."""

    def consume(
        self,
        consent_id: str,
        *,
        actor: str,
        reason: str,
        request_id: str,
        then: Callable[[], T],
    ) -> T:
        """Use a payment consent up (AUTH → COND, a compare-and-set) and run ``then`` in
        the same unit of work, committed together with the audit event: two racing uses
        cannot both pass. ``then`` stages its writes without committing; its result is
        returned. ``ConsentNotAuthorisedError`` (nothing committed) when the consent was not
        AUTH or another use moved it first."""
