"""The consent gate: how the protocol floor asks about consents without importing them.

Grants, introspection and revocation need three answers about a consent (is it live
for this client, what does it allow, mark it revoked); ``consent/`` implements this
Protocol and the app factory wires it in, so the protocol floor never imports
``consent.models`` and the experience floor stays above it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ConsentView:
    """A read-only picture of one consent, enough for a resource server or a grant."""

    consent_id: str
    client_id: str
    user_id: str | None
    scopes: tuple[str, ...]
    live: bool


class ConsentGate(Protocol):
    def is_live(self, consent_id: str, client_id: str) -> bool:
        """True only for an authorised consent held by ``client_id``."""

    def view(self, consent_id: str) -> ConsentView | None:
        """What the consent allows and who holds it; None when there is no such consent."""

    def mark_revoked(self, consent_id: str, *, actor: str, reason: str) -> bool:
        """Withdraw an authorised consent (AUTH → CANC, recorded with ``actor`` and
        ``reason``) in the pending unit of work (the caller commits); a consent in any
        other status is left as it is. False when there is no such consent."""
